import { homedir } from 'node:os';
import { posix } from 'node:path';
import { existsSync } from 'node:fs';
import { PaddockError } from '../core/errors.js';
import { planMounts, uncagedSince, type MountPlan } from '../core/hiding.js';
import { cagedGitDirs, symlinksInGitDirs } from '../core/gitLinks.js';
import { loadPolicy } from '../core/policy.js';
import type { SandboxEngine } from './engine.js';
import { LABELS } from '../core/naming.js';
import { probeSandbox, type ProbeAnswers, type RunningHelper } from './verifyProbe.js';

/**
 * `paddock verify`: checks that hiding really holds in the running sandbox, as root sees it (the
 * strongest position an agent can reach): if root cannot read a hidden path or write a cage path,
 * the agent cannot either. The files are read from outside, through the sandbox's own mount
 * namespace, by a program the agent cannot have replaced (./verifyProbe.ts).
 */

export type VerifyCheckKind = 'hidden-file' | 'hidden-folder' | 'hidden-alias' | 'read-only' | 'git-symlink' | 'home-secret' | 'docker-socket' | 'docker-env';

export interface VerifyCheck {
  readonly check: VerifyCheckKind;
  /** Absolute path in the sandbox (or the variable name for docker-env). */
  readonly path: string;
  readonly ok: boolean;
  readonly detail: string;
  /** A path one of the sandbox's own hiding mounts hides fails: the mount was lost while it ran (a warm run refuses). */
  readonly lost?: boolean;
}

export interface VerifyReport {
  readonly sandbox: string;
  readonly workspace: string;
  readonly ok: boolean;
  readonly checks: readonly VerifyCheck[];
  readonly failures: readonly VerifyCheck[];
  readonly notes: readonly string[];
}

/** Credentials that live in a home folder; none of them may exist in a sandbox. */
export const HOME_SECRETS = [
  '.ssh', '.aws/credentials', '.aws/config', '.config/gcloud', '.azure', '.kube/config', '.docker/config.json',
  '.netrc', '.git-credentials', '.pypirc', '.gnupg', '.config/gh/hosts.yml', '.vault-token', '.terraform.d/credentials.tfrc.json',
] as const;

/** Engine sockets: with one, the agent controls the host's containers (and so the host). */
export const ENGINE_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/run/podman/podman.sock', '/var/run/podman/podman.sock'] as const;

interface Probe { readonly kind: 'file' | 'dir' | 'ro' | 'absent'; readonly check: VerifyCheckKind; readonly path: string; readonly why?: string; readonly mounted?: boolean }

/**
 * A check's helper started before the sandbox was looked up (a warm `paddock run`: src/cli/runEarly.ts),
 * with the inspect it was started from. Its helper promise never rejects.
 */
export interface EarlyCheck {
  readonly helper: Promise<RunningHelper | undefined>;
  /** Ends the helper if nothing used it (the end of the command). */
  dispose(): Promise<void>;
}

/** What the caller already read of the workspace's policy: its mount plan, made moments ago in this process (a warm `paddock run`'s). */
export interface KnownPlan {
  readonly workspace: string;
  readonly plan: MountPlan;
}

export async function verifySandbox(engine: SandboxEngine, nameOrId: string, options: { early?: EarlyCheck; plan?: KnownPlan } = {}): Promise<VerifyReport> {
  // The early helper's inspect, when it is of this container and found it running: no need to read it again.
  const early = await options.early?.helper;
  const known = early?.info.Id === nameOrId ? early.info : undefined;
  const sandbox = known
    ? { id: known.Id, name: known.Name.replace(/^\//, ''), workspace: known.Config.Labels?.[LABELS.workspace] ?? '', status: 'running' }
    : await engine.get(nameOrId);
  if (sandbox.status !== 'running') {
    throw new PaddockError(`Sandbox ${sandbox.name} is ${sandbox.status}; verify checks a running sandbox.`, `Start it with "paddock start ${sandbox.name}", then verify again.`);
  }
  const info = known ?? await engine.docker.getContainer(sandbox.id).inspect();
  const mounts = (info.HostConfig.Mounts ?? []) as { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }[];
  const notes: string[] = [];
  const workspace = sandbox.workspace;

  // What should be hidden: what the sandbox was given, and what the policy hides today.
  let plan: MountPlan | undefined;
  // A warm run has just planned the same workspace from the same policy file: planning it again (a
  // walk of the whole workspace, 0.5-1.8 s for a repository with node_modules) would only repeat it.
  if (workspace && options.plan?.workspace === workspace) plan = options.plan.plan;
  else if (workspace && existsSync(workspace)) {
    try {
      plan = planMounts(workspace, loadPolicy(workspace).policy);
    } catch (err: any) {
      notes.push(`The workspace policy could not be read (${err?.message ?? err}); only the sandbox's own mounts were checked.`);
    }
  } else {
    notes.push('The workspace is not on this machine (remote engine?); only the sandbox\'s own mounts were checked.');
  }
  const probes: Probe[] = [];
  const seen = new Set<string>();
  const add = (p: Probe) => {
    const key = `${p.kind}\0${p.path}`;
    if (!seen.has(key)) { seen.add(key); probes.push(p); }
  };
  const mountedHidden = new Set<string>();
  for (const m of mounts) {
    if (m.Type === 'bind' && m.Source === '/dev/null' && m.Target) { mountedHidden.add(m.Target); add({ kind: 'file', check: 'hidden-file', path: m.Target, mounted: true }); }
    if (m.Type === 'tmpfs' && m.Target && isUnder(m.Target, workspace)) { mountedHidden.add(m.Target); add({ kind: 'dir', check: 'hidden-folder', path: m.Target, mounted: true }); }
  }
  for (const h of plan?.hidden ?? []) {
    const why = mountedHidden.has(h.path) ? undefined : `not mounted: it appeared or became hidden after the sandbox was created; "paddock apply ${sandbox.name}" hides it (a new container, its state kept)`;
    add({ kind: h.kind === 'file' ? 'file' : 'dir', check: h.kind === 'file' ? 'hidden-file' : 'hidden-folder', path: h.path, why });
  }
  for (const a of plan?.aliases ?? []) add({ kind: a.kind === 'dir' ? 'dir' : 'file', check: 'hidden-alias', path: a.path, why: `symlink to hidden ${a.target}` });
  // The cage: read-only binds the sandbox has, and what the policy makes read-only today.
  for (const m of mounts) if (m.Type === 'bind' && m.ReadOnly && m.Source !== '/dev/null' && m.Target && isUnder(m.Target, workspace)) add({ kind: 'ro', check: 'read-only', path: m.Target });
  const roMounted = mounts.filter((m) => m.Type === 'bind' && m.ReadOnly && m.Source !== '/dev/null').map((m) => m.Target ?? '');
  const uncaged = new Set(plan ? uncagedSince(plan, roMounted).map((c) => c.path) : []);
  for (const c of plan?.readOnly ?? []) add({ kind: 'ro', check: 'read-only', path: c.path, why: uncaged.has(c.path) ? `not mounted: it did not exist when the sandbox was created, so the sandbox could have written it; read it before the host runs or loads it, then "paddock apply ${sandbox.name}" (a new container, its state kept)` : undefined });
  if (plan?.absentCage.length) notes.push(`Not mounted read-only because they do not exist (the agent could create them): ${plan.absentCage.join(', ')}.`);
  // Homes: root's, the agent's, and the host user's path (in case it was mounted).
  const homes = new Set(['/root', '/home/agent', posix.normalize(homedir().replace(/\\/g, '/'))]);
  for (const home of homes) {
    for (const s of HOME_SECRETS) {
      const p = posix.join(home, s);
      if (plan?.hidden.some((h) => h.path === p || isUnder(p, h.path))) continue;
      add({ kind: 'absent', check: 'home-secret', path: p });
    }
  }
  for (const s of ENGINE_SOCKETS) add({ kind: 'absent', check: 'docker-socket', path: s });

  let probed: ProbeAnswers;
  try {
    probed = await probeSandbox(engine, info, workspace, probes, early);
  } catch (err: any) {
    if (err instanceof PaddockError) throw err;
    throw new PaddockError(`The check could not run in ${sandbox.name} (${String(err?.message ?? err).slice(0, 300)}).`, 'The image needs node (for the helper that reads the sandbox from outside) or /bin/sh, head, wc, ls and find in its system folders (busybox is enough).');
  }
  if (probed.via === 'inside') notes.push(`Checked with the sandbox's own programs (from its system folders, as root), because ${probed.fallbackReason}: an agent with uid 0 in it could have replaced them.`);
  const results = new Map<number, string>();
  probed.answers.forEach((a, i) => { if (a) results.set(i + 1, a); });
  const sockets = probed.sockets;

  const checks: VerifyCheck[] = probes.map((p, i) => {
    const judged = judge(p, results.get(i + 1) ?? 'no-answer');
    return p.mounted && !judged.ok ? { ...judged, lost: true } : judged;
  });
  for (const s of sockets) if (!checks.some((c) => c.path === s)) checks.push({ check: 'docker-socket', path: s, ok: false, detail: 'an engine socket is reachable: the agent could control the host\'s containers' });
  for (const e of info.Config.Env ?? []) {
    const name = e.slice(0, e.indexOf('='));
    if (name === 'DOCKER_HOST' || name === 'CONTAINER_HOST') checks.push({ check: 'docker-env', path: name, ok: false, detail: `${name} is set in the sandbox: it points the agent at an engine` });
  }
  // Symlinks in the caged git dirs, on the host (where the host's git would write through them):
  // the sandbox's init removes one the moment it appears and stops the sandbox; one still there
  // (a sandbox whose init has no such guard, an image without find) fails. ../core/gitLinks.ts.
  if (workspace && existsSync(workspace)) {
    const gitDirs = cagedGitDirs([...(plan?.readOnly ?? []).map((c) => c.path), ...roMounted.filter((p) => isUnder(p, workspace))]);
    const links = symlinksInGitDirs(gitDirs);
    for (const path of links) {
      checks.push({ check: 'git-symlink', path, ok: false, detail: `a symlink in a git dir (git never makes one there): the host's git would write through it (reflog lines, commit messages) into the file it points to; delete it before you run git here, and look at that file for lines you did not write` });
    }
    if (!links.length) for (const dir of gitDirs.filter((d) => !gitDirs.some((o) => d.startsWith(`${o}/`)))) checks.push({ check: 'git-symlink', path: dir, ok: true, detail: 'no symlink in it' });
  }
  const failures = checks.filter((c) => !c.ok);
  return { sandbox: sandbox.name, workspace, ok: failures.length === 0, checks, failures, notes };
}

function judge(p: Probe, answer: string): VerifyCheck {
  const base = { check: p.check, path: p.path };
  // A mounted path that shows content was replaced on the host while the sandbox ran: an editor
  // that saves by rename detaches the mount over the old file. A restart mounts it again.
  const why = p.why ? ` (${p.why})` : p.check === 'hidden-alias' ? '' : ' (replaced on the host while the sandbox ran, which detaches its mount; restart the sandbox)';
  switch (p.kind) {
    case 'file':
      if (answer === 'empty') return { ...base, ok: true, detail: 'reads empty' };
      if (answer === 'absent') return { ...base, ok: true, detail: 'absent' };
      if (answer === 'readable') return { ...base, ok: false, detail: `its content is readable${why}` };
      if (answer === 'is-folder') return { ...base, ok: false, detail: `is a folder with no empty mount over it${why}` };
      break;
    case 'dir':
      if (answer === 'empty') return { ...base, ok: true, detail: 'empty and read-only' };
      if (answer === 'absent') return { ...base, ok: true, detail: 'absent' };
      if (answer === 'listed') return { ...base, ok: false, detail: `its files are listed${why}` };
      if (answer === 'writable') return { ...base, ok: false, detail: `empty but writable${why}` };
      if (answer === 'readable') return { ...base, ok: false, detail: `its content is readable${why}` };
      break;
    case 'ro':
      if (answer === 'read-only') return { ...base, ok: true, detail: 'read-only' };
      if (answer === 'absent') return { ...base, ok: true, detail: 'absent' };
      if (answer === 'writable') return { ...base, ok: false, detail: `writable: the agent could change its own cage${p.why ? ` (${p.why})` : ''}` };
      break;
    case 'absent':
      if (answer === 'absent') return { ...base, ok: true, detail: 'absent' };
      if (answer === 'present') return { ...base, ok: false, detail: p.check === 'docker-socket' ? 'present: the agent could control the host\'s containers' : 'present in the sandbox' };
      break;
  }
  return { ...base, ok: false, detail: `could not be checked (${answer})` };
}

function isUnder(path: string, folder: string): boolean {
  return !!folder && (path === folder || path.startsWith(`${folder.replace(/\/$/, '')}/`));
}
