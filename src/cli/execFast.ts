import { parseEnvAssignments } from '../core/options.js';
import type { EndpointInputs } from '../engine/connection.js';
import { connectClient, type ExecTarget, type SandboxClient } from '../engine/sandboxClient.js';
import { trace } from '../engine/trace.js';
import { attach } from './attach.js';

// `paddock exec NAME [-u USER] [-w DIR] [-e K=V]... -- COMMAND...` without the command table:
// bin/paddock loads this one small CommonJS file (dist/cli/exec-fast.cjs) before anything else.
// It runs the command when the line has exactly that shape and NAME is a running sandbox on an
// engine the lean client reaches; any other case (help, a workspace folder, a stopped or missing
// sandbox, no engine, a TLS engine) it declines before doing anything, and the whole `paddock exec`
// (./main-exec.ts) runs instead, with its words. A failed command's notes come from there too.

export interface FastExec {
  readonly inputs: EndpointInputs;
  readonly ref: string;
  readonly user?: string;
  readonly workdir?: string;
  readonly env: Record<string, string>;
  readonly command: string[];
}

const GLOBAL_OPTIONS: Record<string, 'host' | 'context'> = { '-H': 'host', '--host': 'host', '--context': 'context' };
const EXEC_OPTIONS: Record<string, 'user' | 'workdir' | 'env'> = { '-u': 'user', '--user': 'user', '-w': 'workdir', '--workdir': 'workdir', '-e': 'env', '--env': 'env' };

/** The exec command line (process.argv) in the one shape the fast path takes, or undefined. */
export function parseFastExec(argv: readonly string[]): FastExec | undefined {
  const inputs: { host?: string; context?: string } = {};
  const options: { user?: string; workdir?: string; env: string[] } = { env: [] };
  let seenExec = false;
  let ref: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (seenExec && arg === '--') {
      const command = argv.slice(i + 1);
      if (ref === undefined || !command.length) return undefined;
      let env: Record<string, string>;
      try {
        env = parseEnvAssignments(options.env); // `-e K` alone passes the host's value, as for create
      } catch {
        return undefined; // a bad name: the full exec says what is wrong
      }
      return { inputs, ref, user: options.user, workdir: options.workdir, env, command };
    }
    if (!arg.startsWith('-')) {
      if (!seenExec) {
        if (arg !== 'exec') return undefined;
        seenExec = true;
      } else if (ref === undefined) ref = arg;
      else return undefined; // a command without `--`: commander's rules for it are the whole exec's
      continue;
    }
    // An option: `--name=value` or `--name value` / `-n value`, of the ones this place takes.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = seenExec ? EXEC_OPTIONS[name] : GLOBAL_OPTIONS[name];
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (!key || value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    if (key === 'env') options.env.push(value);
    else if (key === 'host' || key === 'context') inputs[key] = value;
    else options[key] = value;
  }
  return undefined;
}

/** How the whole exec ends a command the fast path ran, when it failed (main-exec.ts finishFastExec). */
export type FinishExec = (inputs: EndpointInputs, sandbox: ExecTarget, outcome: { code: number } | { error: unknown }) => Promise<number>;

/** Runs the command line's exec and returns its exit code, or undefined when it leaves the command to the whole exec. */
export async function execFast(argv: readonly string[], finish: FinishExec): Promise<number | undefined> {
  const asked = parseFastExec(argv);
  if (!asked) return undefined;
  let client: SandboxClient;
  let sandbox: ExecTarget | undefined;
  try {
    client = connectClient(asked.inputs);
    if (!client.engineHttp) return undefined;
    sandbox = await client.execTarget(asked.ref);
  } catch {
    return undefined;
  }
  if (sandbox?.status !== 'running') return undefined;
  trace('paddock exec: the sandbox found (fast path)');
  let code: number;
  try {
    code = await attach(client, sandbox, asked.command, { user: asked.user, workdir: asked.workdir, env: asked.env });
  } catch (error) {
    return finish(asked.inputs, sandbox, { error });
  }
  return code === 0 ? 0 : finish(asked.inputs, sandbox, { code });
}
