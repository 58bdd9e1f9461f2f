// Which MCP servers Paddock offers to VS Code's chat: one `paddock bridge --stdio` per workspace
// folder that is a Paddock project (it has a sandbox or a policy file). Pure and light: the
// activation bundle uses it, so it imports node built-ins only.
import { createHash } from 'node:crypto';
import { isInside } from './paths.js';

export interface FolderRef {
  readonly name: string;
  readonly path: string;
}

/** How the extension runs its bundled CLI: `<node> <extension>/bin/paddock`. */
export interface CliLaunch {
  readonly command: string;
  readonly script: string;
}

export interface BridgeServerPlan {
  readonly label: string;
  readonly folder: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Changes when the folder's policy text changes, so the editor restarts the server with it. */
  readonly version: string;
}


/**
 * The servers to offer. `policyText(folder)` is the folder's .paddock/policy.yaml text, or
 * undefined without one. Folders with the same name are told apart by their path.
 */
export function planBridgeServers(
  folders: readonly FolderRef[],
  sandboxWorkspaces: readonly string[],
  policyText: (folder: string) => string | undefined,
  cli: CliLaunch,
  engine: { readonly host?: string; readonly context?: string } = {},
): BridgeServerPlan[] {
  const engineArgs = [...(engine.host ? ['--host', engine.host] : []), ...(!engine.host && engine.context ? ['--context', engine.context] : [])];
  const plans: BridgeServerPlan[] = [];
  for (const f of folders) {
    const policy = policyText(f.path);
    const hasSandbox = sandboxWorkspaces.some((w) => isInside(w, f.path));
    if (policy === undefined && !hasSandbox) continue;
    const twin = folders.some((o) => o !== f && o.name === f.name);
    plans.push({
      label: `Paddock bridge: ${twin ? `${f.name} (${f.path})` : f.name}`,
      folder: f.path,
      command: cli.command,
      args: [cli.script, ...engineArgs, 'bridge', '--stdio', '--workspace', f.path],
      version: createHash('sha256').update(policy ?? '(defaults)').digest('hex').slice(0, 12),
    });
  }
  return plans;
}

/** A key that changes when any offered server would change (to skip needless refresh events). */
export function plansKey(plans: readonly BridgeServerPlan[]): string {
  return JSON.stringify(plans.map((p) => [p.label, p.command, p.args, p.version]));
}
