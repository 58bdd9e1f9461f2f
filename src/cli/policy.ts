import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Analysis, SandboxHidingState } from '../core/drift/index.js';
import { PaddockError } from '../core/errors.js';
import { shownOnOneLine as oneLine } from '../core/terminalText.js';
import { DEFAULT_BLOCKED_PATHS, DEFAULT_BRIDGE_DENY, DEFAULT_HIDE, DEFAULT_NETWORK_ALLOW, DEFAULT_READ_ONLY, POLICY_FILE } from '../core/policy-defaults.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { VerifyReport } from '../engine/verify.js';

/** What the commands need from main.ts (engine connection and sandbox lookup). */
export interface CliContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
  readonly resolveSandbox: (engine: SandboxEngine, ref: string) => Promise<string>;
}

const out = (text: string) => process.stdout.write(text);

/** `paddock policy check|init` and `paddock verify`. */
export function registerHidingCommands(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('The workspace policy (.paddock/policy.yaml): what the sandbox hides, and drift from agent configs');

  policy.command('check')
    .description('Show what the sandbox hides, where agent configs and the policy disagree, and files that look like secrets but are hidden by no rule. Exits 1 when a secret would be visible.')
    .argument('[workspace]', 'project folder (default: current folder)')
    .option('--json', 'print the report as JSON')
    .option('--no-content', 'do not read file contents for credentials (globs and agent configs only)')
    .option('--no-engine', 'do not compare with the workspace\'s existing sandboxes')
    .action(async (workspaceArg: string | undefined, o: any, cmd: Command) => {
      const [{ checkWorkspace }, { hidingStateOf }, { analyzeWorkspaceAsync, secretVisible }] = await Promise.all([import('../engine/engine.js'), import('../engine/hiding.js'), import('../core/drift/index.js')]);
      const workspace = checkWorkspace(workspaceArg ?? process.cwd());
      const sandboxes: SandboxHidingState[] = [];
      const notes: string[] = [];
      if (o.engine !== false) {
        try {
          const engine = await ctx.engineFrom(cmd);
          await withTimeout(engine.ping(), 3000);
          for (const s of await engine.list({ workspace })) sandboxes.push(await hidingStateOf(engine, s.id));
        } catch {
          notes.push('No Docker engine answered; existing sandboxes were not compared (use --no-engine to skip this).');
        }
      }
      const analysis = await analyzeWorkspaceAsync(workspace, { sandboxes, scanContent: o.content !== false });
      const failing = secretVisible(analysis.findings);
      if (o.json) out(`${JSON.stringify(reportJson(analysis, notes, failing), null, 2)}\n`);
      else out(formatCheck(analysis, notes));
      if (failing && analysis.findings.some((f) => f.rule === 'policy-invalid' && f.severity === 'error')) {
        throw new PaddockError(`${POLICY_FILE} is not valid (see the errors above), so no sandbox can be created or applied with it.`,
          `Fix it (the Paddock policy editor shows each problem in place), or move it away to use the defaults.`, 1);
      }
      if (failing) {
        throw new PaddockError('A secret would be visible in the sandbox (see the errors above).',
          `Add the paths to "hide" in ${POLICY_FILE} (or run "paddock policy init" to start one), then "paddock apply SANDBOX" for a sandbox that exists (its state is kept).`, 1);
      }
    });

  policy.command('init')
    .description(`Write a commented ${POLICY_FILE} with the defaults (never overwrites one)`)
    .argument('[workspace]', 'project folder (default: current folder)')
    .action(async (workspaceArg: string | undefined) => {
      const workspace = (await import('../engine/engine.js')).checkWorkspace(workspaceArg ?? process.cwd());
      const file = join(workspace, POLICY_FILE);
      if (existsSync(file)) throw new PaddockError(`${file} already exists.`, 'Edit it, or move it away first; Paddock never overwrites it.');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, defaultPolicyText());
      out(`${file}\n`);
    });

  policy.command('apply')
    .description(`Approve the workspace's ${POLICY_FILE} as it is now for its sandboxes: a changed file takes effect only through a user action (this, or a save in VS Code)`)
    .argument('[workspace]', 'project folder (default: current folder)')
    .option('--json', 'print what was applied as JSON')
    .action(async (workspaceArg: string | undefined, o: any, cmd: Command) => {
      const [{ checkWorkspace }, { loadPolicy }, { approvePolicy, approveWorkspacePolicy, policyInForce }, { pushApprovedNetwork }, { checkNetworkPolicy }] = await Promise.all([import('../engine/engine.js'), import('../core/policy.js'), import('../engine/approvedPolicy.js'), import('../engine/liveRules.js'), import('../engine/egress.js')]);
      const workspace = checkWorkspace(workspaceArg ?? process.cwd());
      // A broken file stops here with its line and column; nothing is approved.
      const loaded = loadPolicy(workspace);
      checkNetworkPolicy(loaded.policy.network, loaded.file);
      const engine = await ctx.engineFrom(cmd);
      // A task's sandbox works on its own folder, but its workspace's policy governs it (labelled by Paddock at create).
      const tasks = await engine.docker.listContainers({ all: true, filters: { label: [`dev.paddock.sandbox=1`, `dev.paddock.task-source=${workspace}`] } });
      const taskNames = new Set(tasks.map((c) => (c.Names[0] ?? '').replace(/^\//, '')));
      const sandboxes = [...await engine.list({ workspace }), ...(taskNames.size ? (await engine.list()).filter((s) => taskNames.has(s.name) && s.workspace !== workspace) : [])];
      const applied = [];
      for (const s of sandboxes) {
        const before = policyInForce({ name: s.name, workspace, policyHash: (await engine.get(s.id)).policyHash });
        approvePolicy(s.name, loaded, 'cli');
        // Its network rules are in force at once, in the running proxy (src/engine/liveRules.ts).
        const network = (await pushApprovedNetwork(s.name, loaded.policy.network, 'policy apply')).written;
        applied.push({ sandbox: s.name, from: before.hash, to: loaded.hash, changed: before.hash !== loaded.hash, network });
      }
      // The workspace's own record: what a sandbox created later may start from (approvedPolicy.ts).
      approveWorkspacePolicy(workspace, loaded, 'cli');
      if (o.json) {
        out(`${JSON.stringify({ workspace, policyFile: loaded.file ?? null, hash: loaded.hash, sandboxes: applied }, null, 2)}\n`);
        return;
      }
      if (!applied.length) {
        out(`No sandbox of ${workspace}: ${loaded.file ?? 'the defaults'} approved; new sandboxes are created with it.\n`);
        return;
      }
      for (const a of applied) out(`${a.sandbox}: ${a.changed ? `policy ${a.from} -> ${a.to}` : `policy ${a.to} (unchanged)`}\n`);
      out('Network rules are in force now in running sandboxes ("paddock network rules SANDBOX"); the bridge follows at once where VS Code, "paddock run" or "paddock bridge serve" hosts it; hide, cage and env rules apply with "paddock apply SANDBOX" (a new container that keeps its state).\n');
    });

  program.command('verify')
    .description('Check inside a running sandbox that every hidden path reads empty, home secrets and engine sockets are absent, the cage is read-only, and no caged git dir holds a symlink. Exits 1 on any failure.')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('--json', 'print the report as JSON')
    .action(async (ref: string, o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const { verifySandbox } = await import('../engine/verify.js');
      const report = await verifySandbox(engine, await ctx.resolveSandbox(engine, ref));
      if (o.json) out(`${JSON.stringify(report, null, 2)}\n`);
      else out(formatVerify(report));
      if (!report.ok) {
        throw new PaddockError(`Verification of ${report.sandbox} failed: ${report.failures.length} path${report.failures.length === 1 ? '' : 's'} not protected.`,
          `${report.failures.some((f) => f.check === 'git-symlink') ? 'Delete each "git symlink" it names before you run git in the workspace (the host\'s git would write through it), and look at the file it pointed to. ' : ''}Restart it ("paddock stop ${report.sandbox}" then "paddock start ${report.sandbox}") to mount the hidden paths again; "paddock apply ${report.sandbox}" (state kept) for paths marked "not mounted"; check the image for baked-in credentials.`, 1);
      }
    });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function reportJson(a: Analysis, notes: string[], failing: boolean) {
  return {
    workspace: a.workspace,
    policyFile: a.policyExists ? a.policyFile : null,
    policyHash: a.policyHash,
    secretVisible: failing,
    hidden: a.scan.plan.hidden,
    aliases: a.scan.plan.aliases,
    readOnly: a.scan.plan.readOnly,
    absentReadOnly: a.scan.plan.absentCage,
    counts: a.scan.counts,
    findings: a.findings,
    notes: [...a.scan.plan.notes, ...notes],
  };
}

export function formatCheck(a: Analysis, notes: string[]): string {
  const rel = (p: string) => relative(a.workspace, p) || '.';
  const lines: string[] = [];
  const plan = a.scan.plan;
  lines.push(`Workspace: ${a.workspace}`);
  lines.push(`Policy:    ${a.policyExists ? rel(a.policyFile) : `defaults (no ${POLICY_FILE})`}, hash ${a.policyHash}`);
  lines.push(`Scanned:   ${a.scan.counts.files} file${a.scan.counts.files === 1 ? '' : 's'} in ${a.scan.counts.dirs} folder${a.scan.counts.dirs === 1 ? '' : 's'}`);
  lines.push(`Hidden:    ${plan.hidden.length ? '' : 'nothing'}`);
  for (const h of plan.hidden.slice(0, 40)) {
    const why = h.reason === 'rule' ? h.rule : h.reason === 'hard-link' ? `hard link of ${h.via}` : `target of symlink ${h.via}`;
    lines.push(`  ${oneLine(h.relative)}${h.kind === 'dir' ? '/' : ''}  (${oneLine(why)})`);
  }
  if (plan.hidden.length > 40) lines.push(`  ... and ${plan.hidden.length - 40} more (--json lists all)`);
  lines.push(`Read-only: ${plan.readOnly.map((c) => oneLine(c.relative) + (c.kind === 'dir' ? '/' : '')).join(', ') || 'nothing'}`);
  const order = { error: 0, warning: 1, info: 2 } as const;
  const findings = [...a.findings].sort((x, y) => order[x.severity] - order[y.severity]);
  lines.push('');
  if (!findings.length) lines.push('No findings.');
  for (const f of findings) {
    // File names (and the messages and fixes that quote them) are the workspace's: the agent may have chosen them.
    lines.push(`${f.severity.padEnd(7)} ${f.unplaced ? '' : `${oneLine(rel(f.file))}:${f.range.line}:${f.range.col}  `}${oneLine(f.message)}  [${f.rule}]`);
    for (const fix of f.fixes) lines.push(`        fix: ${oneLine(fix.title)}`);
  }
  for (const n of [...plan.notes, ...notes]) lines.push(`note: ${oneLine(n)}`);
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  lines.push('', `${count('error')} errors, ${count('warning')} warnings, ${count('info')} info`);
  return `${lines.join('\n')}\n`;
}

function formatVerify(r: VerifyReport): string {
  const lines = [`Sandbox:   ${r.sandbox}`, `Workspace: ${r.workspace}`, ''];
  const label: Record<string, string> = { 'hidden-file': 'hidden file', 'hidden-folder': 'hidden folder', 'hidden-alias': 'symlink', 'read-only': 'read-only', 'git-symlink': 'git symlink', 'home-secret': 'home secret', 'docker-socket': 'engine socket', 'docker-env': 'engine env' };
  // Passing home and socket checks are many and alike: list failures, and passing checks of workspace paths.
  for (const c of r.checks) {
    if (c.ok && (c.check === 'home-secret' || c.check === 'docker-socket')) continue;
    // Paths and details (a symlink's target) are the sandbox's to choose: on their line, control characters shown.
    lines.push(`${c.ok ? 'ok  ' : 'FAIL'}  ${label[c.check].padEnd(13)} ${oneLine(c.path)}  ${oneLine(c.detail)}`);
  }
  const homeOk = r.checks.filter((c) => c.ok && c.check === 'home-secret').length;
  const sockOk = r.checks.filter((c) => c.ok && c.check === 'docker-socket').length;
  lines.push(`ok    ${homeOk} home credential paths absent, ${sockOk} engine sockets absent`);
  for (const n of r.notes) lines.push(`note: ${oneLine(n)}`);
  lines.push('', r.ok ? `Verified: ${r.checks.length} checks passed.` : `FAILED: ${r.failures.length} of ${r.checks.length} checks.`);
  return `${lines.join('\n')}\n`;
}

/** The policy file `policy init` writes: the defaults, each section explained. */
export function defaultPolicyText(): string {
  const list = (items: readonly string[], indent = '  ') => items.map((i) => `${indent}- ${JSON.stringify(i)}`).join('\n');
  return `# Paddock sandbox policy. Every key is optional; VS Code with the YAML extension completes and checks it.
# Network rules apply at once when you save or "paddock policy apply"; the rest when the sandbox is
# (re)created. "paddock policy check" shows their effect.
version: 1

# Workspace paths the sandbox never sees: files are covered with /dev/null, folders with an
# empty read-only tmpfs, at the same path. Globs relative to the workspace, "**" at any depth;
# the last matching rule wins and "!" re-includes.
hide:
${list(DEFAULT_HIDE)}

# Paths the agent can read but not change: its own cage, and what the host runs for you.
readOnly:
${list(DEFAULT_READ_ONLY)}

# How far the MCP bridge lets the agent act on the project's other containers.
tier: moderate   # strict | moderate | permissive

bridge:
  containers: []          # container name globs or a compose project name, e.g. ["myapp-*"]
  permissions: { logs: true, inspect: true, stats: true, exec: true, files: false, lifecycle: false }
  exec: {}                # per container glob: allowed commands, e.g. { "myapp-api": ["npm test", "echo *"] }
  deny:                   # never allowed in the permissive tier
${list(DEFAULT_BRIDGE_DENY, '    ')}
  blockedPaths:
${list(DEFAULT_BLOCKED_PATHS, '    ')}

network:
  policy: deny            # hosts no rule names are refused
  allow:
${list(DEFAULT_NETWORK_ALLOW, '    ')}
  deny: []
  hostRegistries: true    # also allow this machine's npm registry, pip indexes and apt sources

env: {}                   # environment of the sandbox (not for secrets: the agent reads them)
resources: {}             # e.g. { cpus: 2, memory: 4g, pids: 1024 }
ports: []                 # published on 127.0.0.1, e.g. [3000, "8080:80"]
`;
}
