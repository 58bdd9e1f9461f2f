import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import picomatch from 'picomatch';
import { compileGlobs, decidingRule, literalGlob, positiveGlob, RuleSet, scanWorkspace, uncagedSince, uncoveredSince, type GlobRule, type HiddenEntry, type WorkspaceScan } from '../hiding.js';
import { defaultPolicy, parsePolicy, policyHash, POLICY_FILE, type Policy } from '../policy.js';
import { containerSectionsChanged } from '../containerPolicy.js';
import { scanFile, shouldScan, type SecretHit } from '../secret-scan.js';
import { claudeDenyFor, ignoreLineFor } from './fixes.js';
import { pathsKnownToGit } from './git.js';
import { readClaudeSettings, readCompose, readDevcontainer, readGeminiSettings, readIgnoreFile, readPolicyHide } from './readers.js';
import { LineIndex, START_OF_FILE, type DenyRule, type Finding, type Fix, type RuleFile, type SourceRange } from './types.js';

/** What Paddock knows about an existing sandbox of the workspace (from its labels and mounts). */
export interface SandboxHidingState {
  readonly name: string;
  /** The policy hash label set at creation. */
  readonly policyHash?: string;
  /** The hash of the sections fixed in its container (hide, cage, env, limits, ports), set at creation. */
  readonly containerPolicyHash?: string;
  /** Texts of the policy file the user approved for it or its workspace (a command, a save in the editor). */
  readonly approvedPolicyTexts?: readonly string[];
  /** Targets of the sandbox's mounts (absolute paths). */
  readonly mountedTargets: readonly string[];
  /** Targets of its read-only (cage) mounts. */
  readonly readOnlyTargets?: readonly string[];
}

export interface AnalyzeOptions {
  readonly sandboxes?: readonly SandboxHidingState[];
  /** Read file contents to find credentials no rule hides (default true). */
  readonly scanContent?: boolean;
  /** Ask git whether hidden files are tracked or in history (default true). */
  readonly git?: boolean;
  readonly home?: string;
  /** Texts of files edited but not saved (absolute path → text), used instead of the disk's: the editor's live diagnostics. */
  readonly overlay?: ReadonlyMap<string, string>;
}

export interface SecretFile {
  readonly relative: string;
  readonly hits: readonly SecretHit[];
}

export interface Analysis {
  readonly workspace: string;
  readonly policyFile: string;
  readonly policyExists: boolean;
  readonly policy: Policy;
  readonly policyHash: string;
  readonly scan: WorkspaceScan;
  readonly ruleFiles: readonly RuleFile[];
  readonly secrets: readonly SecretFile[];
  readonly findings: readonly Finding[];
}

const COMPOSE = picomatch('**/{docker-compose,compose}{,.*,-*}.{yml,yaml}', { dot: true });
const DEVCONTAINER = picomatch(['.devcontainer.json', '.devcontainer/devcontainer.json', '.devcontainer/*/devcontainer.json'], { dot: true });
const IN_DEPENDENCIES = /(?:^|\/)(?:node_modules|vendor|\.venv|venv)\//;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const list = (paths: readonly string[], max = 5) => paths.slice(0, max).join(', ') + (paths.length > max ? ` and ${paths.length - max} more` : '');

/** Runs every reader and comparison over a workspace. Pure apart from reading files. */
export function analyzeWorkspace(workspace: string, options: AnalyzeOptions = {}): Analysis {
  const findings: Finding[] = [];
  const policyFile = join(workspace, POLICY_FILE);
  const policyExists = existsSync(policyFile);
  const policyText = options.overlay?.get(policyFile) ?? (policyExists ? readFileSync(policyFile, 'utf8') : undefined);
  let policy = defaultPolicy();
  let policyRules: RuleFile | undefined;
  if (policyText !== undefined) {
    const parsed = parsePolicy(policyText);
    const index = new LineIndex(policyText);
    if (parsed.policy) policy = parsed.policy;
    for (const issue of parsed.issues) {
      findings.push({ file: policyFile, range: index.range(issue.range.start, issue.range.end), severity: 'error', rule: 'policy-invalid', message: `${issue.message} (until this is fixed, sandboxes cannot be created; this check uses the default policy)`, paths: [], fixes: [] });
    }
    policyRules = readPolicyHide(policyFile, policyText);
  }
  const hash = policyHash(policy);
  const scan = scanWorkspace(workspace, { hide: policy.hide, readOnly: policy.readOnly });
  const policyAnchor = (pattern?: string): SourceRange => {
    if (!policyRules) return START_OF_FILE;
    return policyRules.rules.find((r) => r.text === pattern)?.range ?? policyRules.anchor;
  };

  // Readers.
  const ruleFiles: RuleFile[] = [];
  const read = (rel: string) => {
    const file = join(workspace, rel);
    const unsaved = options.overlay?.get(file);
    if (unsaved !== undefined) return { file, text: unsaved };
    try { return { file, text: readFileSync(file, 'utf8') }; } catch { return undefined; }
  };
  const claudeFiles: RuleFile[] = [];
  for (const rel of ['.claude/settings.json', '.claude/settings.local.json']) {
    const f = read(rel);
    if (f) claudeFiles.push(readClaudeSettings(f.file, f.text, workspace, options.home));
  }
  const aiexclude: RuleFile[] = [];
  const geminiignore: RuleFile[] = [];
  const others: RuleFile[] = [];
  for (const rel of scan.visibleFiles) {
    if (IN_DEPENDENCIES.test(rel)) continue;
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (name === '.aiexclude' || name === '.geminiignore') {
      const f = read(rel);
      if (f) (name === '.aiexclude' ? aiexclude : geminiignore).push(readIgnoreFile(name === '.aiexclude' ? 'aiexclude' : 'geminiignore', f.file, f.text, workspace));
    } else if (COMPOSE(rel)) {
      const f = read(rel);
      if (f) others.push(readCompose(f.file, f.text, workspace));
    } else if (DEVCONTAINER(rel)) {
      const f = read(rel);
      if (f) others.push(readDevcontainer(f.file, f.text, workspace));
    }
  }
  ruleFiles.push(...claudeFiles, ...aiexclude, ...geminiignore, ...others);
  for (const rf of ruleFiles) {
    for (const p of rf.problems) findings.push({ file: rf.file, range: p.range, severity: 'warning', rule: 'policy-invalid', message: `${p.message}; its rules could not all be read.`, paths: [], fixes: [] });
  }

  // Without a policy file the fix makes one (the defaults and this rule): the title says so.
  const addHide = (pattern: string): Fix => ({
    kind: 'add-hide', file: policyFile, pattern,
    title: policyExists ? `Hide "${pattern}" in the sandbox (add it to the policy)` : `Hide "${pattern}" in Paddock policy (creates ${POLICY_FILE} with the defaults and this rule)`,
  });

  // 1. Denied in an agent config (or a compose/devcontainer hiding mount), but visible in the sandbox.
  for (const rf of ruleFiles) {
    const rules = rf.rules.filter((r) => r.glob !== undefined);
    if (!rules.length) continue;
    const set = new RuleSet(rules.map((r) => `${r.negated ? '!' : ''}${r.glob}`), { caseInsensitive: false });
    const byRule = new Map<number, string[]>();
    for (const f of scan.visibleFiles) {
      const index = set.decide(f);
      if (index >= 0 && !rules[index].negated) {
        const paths = byRule.get(index) ?? [];
        paths.push(f);
        byRule.set(index, paths);
      }
    }
    for (const [i, paths] of byRule) {
      const r: DenyRule = rules[i];
      const what = rf.source === 'compose' || rf.source === 'devcontainer' ? 'is hidden in this container config' : 'is denied here';
      findings.push({
        file: rf.file, range: r.range, severity: 'error', rule: 'denied-but-visible', paths,
        message: `"${r.text}" ${what}, but the Paddock sandbox can read ${plural(paths.length, 'file')}: ${list(paths)}. No hide rule in the policy covers ${paths.length === 1 ? 'it' : 'them'}.`,
        fixes: [addHide(positiveGlob(r.glob!)), ...(paths.length > 1 || paths[0] !== r.glob ? paths.slice(0, 3).map((p) => addHide(literalGlob(p))) : [])],
      });
    }
  }

  // 2. Hidden in the sandbox, but an agent that runs outside Paddock would read it.
  const agentConfigs: { target: RuleFile; files: RuleFile[]; name: string }[] = [];
  if (claudeFiles.length) agentConfigs.push({ target: claudeFiles[0], files: claudeFiles, name: 'Claude Code' });
  if (aiexclude.length) agentConfigs.push({ target: aiexclude.find((a) => !a.file.slice(workspace.length + 1).includes('/')) ?? aiexclude[0], files: aiexclude, name: 'Gemini Code Assist (.aiexclude)' });
  if (geminiignore.length) agentConfigs.push({ target: geminiignore.find((a) => !a.file.slice(workspace.length + 1).includes('/')) ?? geminiignore[0], files: geminiignore, name: 'Gemini CLI (.geminiignore)' });
  for (const cfg of agentConfigs) {
    const rules = cfg.files.flatMap((f) => f.rules).filter((r) => r.glob !== undefined);
    const compiled: GlobRule[] = compileGlobs(rules.map((r) => `${r.negated ? '!' : ''}${r.glob}`), { caseInsensitive: false });
    const missing = new Map<string, HiddenEntry[]>();
    for (const h of scan.plan.hidden) {
      if (IN_DEPENDENCIES.test(h.relative)) continue;
      const rule = decidingRule(compiled, h.relative);
      if (rule && !rule.negated) continue;
      const group = missing.get(h.rule) ?? [];
      group.push(h);
      missing.set(h.rule, group);
    }
    for (const [hideRule, entries] of missing) {
      const paths = entries.map((e) => e.relative);
      const fixes: Fix[] = [];
      const globs = hideRule.startsWith('!') ? [] : [hideRule.replace(/^\.\//, '')];
      // An ignore file has one rule a line: a name with a line break would add its own lines ("!**").
      const named = cfg.target.source === 'claude' ? entries : entries.filter((e) => !/[\r\n]/.test(e.relative));
      for (const e of named.slice(0, 2)) if (!globs.includes(e.relative)) globs.push(e.relative);
      for (const g of globs) {
        const kind = entries.find((e) => e.relative === g)?.kind ?? 'file';
        fixes.push(cfg.target.source === 'claude'
          ? { kind: 'add-claude-deny', title: `Deny ${claudeDenyFor(g, kind)} in ${cfg.target.file.slice(workspace.length + 1)}`, file: cfg.target.file, rule: claudeDenyFor(g, kind) }
          : { kind: 'add-ignore-line', title: `Add "${ignoreLineFor(g, kind)}" to ${cfg.target.file.slice(workspace.length + 1)}`, file: cfg.target.file, line: ignoreLineFor(g, kind) });
      }
      findings.push({
        file: cfg.target.file, range: cfg.target.anchor, severity: 'info', rule: 'hidden-not-denied', paths,
        message: `${list(paths)} ${paths.length === 1 ? 'is' : 'are'} hidden in the sandbox (policy rule "${hideRule}") but not denied here: ${cfg.name} run outside Paddock would read ${paths.length === 1 ? 'it' : 'them'}.`,
        fixes,
      });
    }
  }

  // Gemini CLI can be told to ignore .geminiignore.
  const geminiSettings = read('.gemini/settings.json');
  if (geminiSettings) {
    const gs = readGeminiSettings(geminiSettings.file, geminiSettings.text);
    if (!gs.respectGeminiIgnore && geminiignore.some((g) => g.rules.length)) {
      findings.push({ file: gs.file, range: gs.range, severity: 'warning', rule: 'gemini-ignore-disabled', paths: [], fixes: [], message: 'respectGeminiIgnore is false: Gemini CLI ignores .geminiignore, so its rules protect nothing outside Paddock.' });
    }
  }

  // 3. The policy or the set of hidden files changed since a sandbox was created.
  for (const sb of options.sandboxes ?? []) {
    const uncovered = uncoveredSince(scan.plan, sb.mountedTargets);
    // An apply: a new container with the sandbox's state kept (not a recreate, which would lose it).
    const recreate: Fix = { kind: 'recreate-sandbox', title: `Apply to sandbox ${sb.name} (state kept)`, sandbox: sb.name };
    if (uncovered.length) {
      const paths = uncovered.map((u) => u.relative);
      findings.push({
        file: policyFile, range: policyAnchor(uncovered[0].rule), severity: 'error', rule: 'recreate-needed', paths, fixes: [recreate],
        message: `Not hidden until applied: sandbox ${sb.name} was created before ${list(paths)} ${paths.length === 1 ? 'existed or was' : 'existed or were'} covered by the policy, so it can read ${paths.length === 1 ? 'it' : 'them'}.`,
      });
    } else if (containerSectionsChanged(sb, policy, hash)) {
      // Network and bridge rules apply live: only the sections fixed in the container need a new one.
      findings.push({ file: policyFile, range: policyAnchor(), severity: 'warning', rule: 'recreate-needed', paths: [], fixes: [recreate], message: `The policy's hide rules, cage, env, limits or ports changed since sandbox ${sb.name} was created; apply them (a new container, its state kept).` });
    }
    const uncaged = sb.readOnlyTargets ? writtenWhileUncaged(workspace, uncagedSince(scan.plan, sb.readOnlyTargets), sb).map((c) => c.relative) : [];
    if (uncaged.length) findings.push({ file: policyFile, range: policyAnchor(), severity: 'error', rule: 'recreate-needed', paths: uncaged, fixes: [recreate], message: `Written while unprotected: sandbox ${sb.name} could write ${list(uncaged)} (${uncaged.length === 1 ? 'it' : 'they'} did not exist when it was created, so no read-only mount covers ${uncaged.length === 1 ? 'it' : 'them'}). Read ${uncaged.length === 1 ? 'it' : 'them'} before the host runs or loads ${uncaged.length === 1 ? 'it' : 'them'}, then apply the policy to the sandbox (a new container, its state kept) to protect ${uncaged.length === 1 ? 'it' : 'them'}.` });
  }

  // 4. Credentials that no rule hides.
  const secrets = options.scanContent === false ? [] : scanSecretsSync(workspace, scan.visibleFiles);
  findings.push(...secretFindings(workspace, policyFile, ruleFiles, secrets));

  // 5. Hidden, but git has it: `git show HEAD:.env` reads it from the objects.
  if (options.git !== false) {
    const inGit = pathsKnownToGit(workspace, scan.plan.hidden.filter((h) => !h.relative.split('/').includes('.git')));
    const byRule = new Map<string, string[]>();
    for (const h of scan.plan.hidden) if (inGit.has(h.relative)) byRule.set(h.rule, [...(byRule.get(h.rule) ?? []), h.relative]);
    for (const [rule, paths] of byRule) {
      findings.push({
        file: policyFile, range: policyAnchor(rule), severity: 'error', rule: 'hidden-in-git', paths, fixes: [addHide('**/.git')],
        message: `${list(paths)} ${paths.length === 1 ? 'is' : 'are'} hidden, but git has ${paths.length === 1 ? 'it' : 'them'} (tracked or in history): the sandbox reads ${paths.length === 1 ? 'it' : 'them'} with "git show". Remove ${paths.length === 1 ? 'it' : 'them'} from the history and rotate the secrets, or hide .git.`,
      });
    }
  }

  // Cage paths that do not exist cannot be mounted read-only (Paddock does not create them).
  // Its place: the policy file's readOnly rule that names one (or its readOnly list); the defaults'
  // rules are written nowhere the user can edit, and the fix is a folder, not an edit: no place then.
  if (scan.plan.absentCage.length) {
    const cage = policyText === undefined ? undefined : readPolicyHide(policyFile, policyText, 'readOnly');
    const written = cage?.rules.length ? cage.rules.find((r) => scan.plan.absentCage.includes(r.text))?.range ?? cage.anchor : undefined;
    findings.push({ file: policyFile, range: written ?? START_OF_FILE, ...(written ? {} : { unplaced: true as const }), severity: 'info', rule: 'cage-absent', paths: scan.plan.absentCage, fixes: [], message: `Read-only paths that do not exist are not mounted, so the agent could create them: ${list(scan.plan.absentCage, 8)}. Create the folders to protect them.` });
  }

  return { workspace, policyFile, policyExists, policy, policyHash: hash, scan, ruleFiles, secrets, findings };
}

/**
 * The same analysis, reading file contents in slices of ~10 ms with a turn of the event loop in
 * between, so an editor stays responsive. (Promise-based reads of 100,000 small files are several
 * times slower than synchronous ones, so the reads themselves stay synchronous.)
 */
export async function analyzeWorkspaceAsync(workspace: string, options: AnalyzeOptions = {}): Promise<Analysis> {
  const base = analyzeWorkspace(workspace, { ...options, scanContent: false });
  if (options.scanContent === false) return base;
  const secrets: SecretFile[] = [];
  let sliceStart = Date.now();
  for (const rel of base.scan.visibleFiles) {
    if (!shouldScan(rel)) continue;
    const hits = scanFile(join(workspace, rel));
    if (hits.length) secrets.push({ relative: rel, hits });
    if (Date.now() - sliceStart > 10) {
      await new Promise((r) => setImmediate(r));
      sliceStart = Date.now();
    }
  }
  return { ...base, secrets, findings: [...base.findings, ...secretFindings(base.workspace, base.policyFile, base.ruleFiles, secrets)] };
}

function scanSecretsSync(workspace: string, visibleFiles: readonly string[]): SecretFile[] {
  const secrets: SecretFile[] = [];
  for (const rel of visibleFiles) {
    if (!shouldScan(rel)) continue;
    const hits = scanFile(join(workspace, rel));
    if (hits.length) secrets.push({ relative: rel, hits });
  }
  return secrets;
}

function secretFindings(workspace: string, policyFile: string, ruleFiles: readonly RuleFile[], secrets: readonly SecretFile[]): Finding[] {
  const claude = ruleFiles.find((r) => r.source === 'claude');
  return secrets.map(({ relative: rel, hits }) => {
    const first = hits[0];
    const fixes: Fix[] = [{ kind: 'add-hide', title: `Hide "${rel}" in the sandbox (add it to the policy)`, file: policyFile, pattern: literalGlob(rel) }];
    if (claude) fixes.push({ kind: 'add-claude-deny', title: `Deny ${claudeDenyFor(rel)} in ${claude.file.slice(workspace.length + 1)}`, file: claude.file, rule: claudeDenyFor(rel) });
    return {
      file: join(workspace, rel), range: rangeOfHit(first), severity: 'error', rule: 'secret-not-hidden', paths: [rel], fixes,
      message: `${rel} contains ${first.description}${hits.length > 1 ? ` (and ${plural(hits.length - 1, 'more secret')})` : ''} that no rule hides: the sandbox can read it.`,
    };
  });
}

function rangeOfHit(hit: SecretHit): SourceRange {
  // Detectors match within one line.
  return { start: hit.start, end: hit.end, line: hit.line, col: hit.col, endLine: hit.line, endCol: hit.col + (hit.end - hit.start) };
}

/** Exit status of a check: a secret would be visible. */
export function secretVisible(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error' && (f.rule === 'secret-not-hidden' || f.rule === 'hidden-in-git' || f.rule === 'denied-but-visible' || f.rule === 'recreate-needed' || f.rule === 'policy-invalid'));
}

/**
 * Cage paths created while a sandbox could write them, less the policy file (or its folder holding
 * only it) when it holds exactly what the user approved: their own command or save wrote it.
 */
export function writtenWhileUncaged<T extends { readonly relative: string }>(workspace: string, uncaged: readonly T[], state: Pick<SandboxHidingState, 'approvedPolicyTexts'>): T[] {
  const approved = state.approvedPolicyTexts ?? [];
  if (!approved.length) return [...uncaged];
  const policyRel = POLICY_FILE.split(sep).join('/');
  const folderRel = policyRel.slice(0, policyRel.lastIndexOf('/'));
  const approvedFile = (): boolean => {
    try {
      const file = join(workspace, POLICY_FILE);
      return lstatSync(file).isFile() && approved.includes(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
  };
  const onlyThePolicy = (): boolean => {
    try {
      const entries = readdirSync(join(workspace, folderRel));
      return entries.length === 1 && entries[0] === policyRel.slice(folderRel.length + 1) && approvedFile();
    } catch {
      return false;
    }
  };
  return uncaged.filter((c) => !(c.relative === policyRel ? approvedFile() : c.relative === folderRel && onlyThePolicy()));
}
