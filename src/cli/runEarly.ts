import { resolve } from 'node:path';
import { defaultSandboxName, LABELS } from '../core/naming.js';
import { engineHttpFor, resolveEndpoint } from '../engine/connection.js';
import type { EarlyCheck } from '../engine/verify.js';
import { helperEngineOf, startHelper } from '../engine/verifyProbe.js';

// A warm `paddock run AGENT [WORKSPACE]` (its sandbox running) checks the sandbox's hidden paths
// with a helper container before the agent starts (src/engine/hiding.ts). Making and starting that
// container is the longest wait of such a run, and it needs only the sandbox's inspect: bin/paddock
// loads this one small CommonJS file (dist/cli/run-early.cjs) first, and the helper starts while
// the command table, the policy and the lookups load. It is told what to check (its one line of
// input) when the policy is read, and the agent still starts only after its answer.

/** The run command line in the shape this file takes: global options, `run AGENT [WORKSPACE]`, --no-auto-approve, then `--`. */
export function parseEarlyRun(argv: readonly string[]): { inputs: { host?: string; context?: string }; agent: string; workspace?: string } | undefined {
  const inputs: { host?: string; context?: string } = {};
  const operands: string[] = [];
  let seenRun = false;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (!arg.startsWith('-')) {
      if (!seenRun) {
        if (arg !== 'run') return undefined;
        seenRun = true;
      } else operands.push(arg);
      continue;
    }
    if (seenRun) {
      if (arg !== '--no-auto-approve') return undefined; // other options (a task, an apply, create options) take the usual way
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    if (name === '-H' || name === '--host') inputs.host = value;
    else if (name === '--context') inputs.context = value;
    else return undefined;
  }
  if (!seenRun || !operands.length || operands.length > 2) return undefined;
  return { inputs, agent: operands[0], workspace: operands[1] };
}

/**
 * Starts the check's helper for the one running sandbox of the command line's (workspace, agent)
 * under runc, on an engine the lean client reaches; undefined for any other command line. Every
 * failure leaves the check to the usual way (the helper then is undefined).
 */
export function startEarlyCheck(argv: readonly string[]): EarlyCheck | undefined {
  const asked = parseEarlyRun(argv);
  if (!asked) return undefined;
  let http;
  try {
    http = engineHttpFor(resolveEndpoint(asked.inputs));
  } catch {
    return undefined;
  }
  if (!http) return undefined;
  const engine = http;
  const workspace = resolve(asked.workspace ?? process.cwd());
  const wanted: Record<string, string> = { [LABELS.sandbox]: '1', [LABELS.workspace]: workspace, [LABELS.agent]: asked.agent };
  const labels = Object.entries(wanted).map(([k, v]) => `${k}=${v}`);
  const ours = (info: { Config: { Labels?: Record<string, string> | null } }) => Object.entries(wanted).every(([k, v]) => info.Config.Labels?.[k] === v);
  const helper = (async () => {
    // Its default name first: one inspect. A listing by labels makes the engine read every container
    // (70-200 ms here, before the helper can be made); it is asked only when no container of that
    // name is this sandbox (one made with --name). The run uses the helper only if it is of the
    // sandbox the run itself finds (../engine/verify.ts compares the ids).
    let info = await engine.inspectContainer(defaultSandboxName(workspace, asked.agent));
    if (!info || !ours(info)) {
      const found = await engine.call<{ Id: string; State: string }[]>('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: labels }))}`);
      if (found.length !== 1 || found[0].State !== 'running') return undefined;
      info = await engine.inspectContainer(found[0].Id);
    }
    if (!info?.State.Running || !ours(info) || (info.HostConfig.Runtime || 'runc') !== 'runc') return undefined;
    return startHelper(helperEngineOf(engine), info);
  })().catch(() => undefined);
  return { helper, dispose: async () => { (await helper)?.close(); } };
}
