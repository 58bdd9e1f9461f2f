// The `paddock` command's own cost against the docker CLI's, in the same run (issue 14): where
// `paddock exec` spends its time (node's start, the command table, the engine client, the engine's
// answers), how many engine requests each command makes, and `paddock run` to a shell. Prints
// medians and ratios; asserts nothing. Build first (`npm run build`: it runs bin/paddock).
//   npm run bench:cli                 (PADDOCK_BENCH_N=10 rounds by default)
//   PADDOCK_BENCH_BASE=DIR            also runs DIR/bin/paddock (another build) in the same rounds: before/after
//   PADDOCK_BENCH_DIR=DIR             runs DIR/bin/paddock as this build (a copy of bin/ and dist/, with templates/ beside them)
//   PADDOCK_BENCH_NODE=/path/to/node  the node that runs both CLIs (default: this one)
//   PADDOCK_BENCH_COLD=0              leaves out the cold runs (a new sandbox each)
// The cold runs run with PADDOCK_TRACE=1 (a few dozen lines on stderr, alike for both builds), and the
// bench prints where their time went: start-up, the policy and mount plan, the engine lookups and the
// create, the container's start and init until "ready", ready to the agent's exec, the agent and exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits } from '../src/core/options.js';
import { SandboxEngine } from '../src/engine/engine.js';
import { TemplateBuilder } from '../src/engine/templates.js';
import { spawn } from 'node:child_process';
import { countRequests, median, runCommand as run, time } from './support.js';

/** Runs a command with PADDOCK_TRACE=1; resolves with its stderr (the trace lines) once it exits 0. */
function runTraced(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PADDOCK_TRACE: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

/** The parts of a cold `paddock run` a trace shows, in ms (each from the step before; the clock is the process's). */
export const COLD_PARTS = ['start-up (node, command table)', 'engine modules, policy, mount plan', 'image checks, lookups, create', 'container start + init to ready', 'ready to the agent\'s exec', 'the agent, and exit'] as const;

export function coldParts(trace: string, wallMs: number): number[] | undefined {
  const at = (pattern: RegExp, from = 0): number | undefined => {
    const lines = trace.split('\n');
    for (const line of lines) {
      const m = /^paddock trace \+\s*(\d+) ms (.*)$/.exec(line);
      if (m && Number(m[1]) >= from && pattern.test(m[2])) return Number(m[1]);
    }
    return undefined;
  };
  const parsed = at(/^paddock run: modules loaded/);
  const policy = at(/^policy read/);
  const starting = at(/^starting$/);
  const ready = at(/^sandbox \S+: ready$/);
  const started = at(/^started$/);
  const exec = started === undefined ? undefined : at(/^→ POST \/containers\/[^/]+\/exec$/, started);
  const marks = [0, parsed, policy, starting, ready, exec];
  if (marks.some((m) => m === undefined)) return undefined;
  const points = [...(marks as number[]), wallMs];
  return points.slice(1).map((p, i) => p - points[i]);
}

const N = Number(process.env.PADDOCK_BENCH_N ?? 10);
const NODE = process.env.PADDOCK_BENCH_NODE ?? process.execPath;
// PADDOCK_BENCH_DIR: a copy of this build to run (a build by someone else during the run does not change it).
const CLIS: Record<string, string> = { paddock: join(process.env.PADDOCK_BENCH_DIR ?? join(__dirname, '..'), 'bin', 'paddock') };
if (process.env.PADDOCK_BENCH_BASE) CLIS.base = join(process.env.PADDOCK_BENCH_BASE, 'bin', 'paddock');

/** Medians of named samples, taken round by round so that a busy moment hits all of them alike. */
class Rounds {
  readonly samples = new Map<string, number[]>();
  async take(name: string, fn: () => Promise<unknown>): Promise<void> {
    const ms = await time(fn);
    this.samples.set(name, [...(this.samples.get(name) ?? []), ms]);
  }
  median(name: string): number {
    return median(this.samples.get(name) ?? [NaN]);
  }
}

function row(label: string, ms: number, reference?: { label: string; ms: number; target?: number }): void {
  const ratio = reference ? ` ${reference.label} ${reference.ms.toFixed(0).padStart(5)} ms  ratio ${(ms / reference.ms).toFixed(2)}×` : '';
  const verdict = reference?.target === undefined ? '' : ms / reference.ms <= reference.target ? `  (target ≤ ${reference.target}×: met)` : `  (target ≤ ${reference.target}×: NOT met)`;
  console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(5)} ms${ratio}${verdict}`);
}

async function main(): Promise<void> {
  const engine = SandboxEngine.connect();
  await engine.ping();
  const image = await new TemplateBuilder(engine.docker).ensureAgentImage('shell');
  const limits = resolveLimits({});
  console.log(`paddock vs docker CLI, median of ${N} rounds, node ${NODE === process.execPath ? process.version : NODE}, image ${image}, engine ${engine.endpoint.host}\n`);

  const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-cli-'));
  const sandbox = await engine.create({ workspace: ws, agent: 'shell', image, limits, name: `paddock-bench-cli-${process.pid}` });
  await engine.start(sandbox.id);
  const r = new Rounds();
  try {
    for (let i = 0; i < N; i++) {
      await r.take('node', () => run(NODE, ['-e', '0']));
      // The builds take turns at going first (ABBA), so that neither always meets the other's leftovers.
      const order = i % 2 ? Object.entries(CLIS).reverse() : Object.entries(CLIS);
      for (const [name, cli] of order) {
        await r.take(`${name} --version`, () => run(NODE, [cli, '--version']));
        await r.take(`${name} exec`, () => run(NODE, [cli, 'exec', sandbox.name, '--', 'true']));
        await r.take(`${name} run (running sandbox)`, () => run(NODE, [cli, 'run', 'shell', ws, '--', '-c', 'true']));
      }
      await r.take('docker exec', () => run('docker', ['exec', '-u', 'agent', sandbox.name, 'true']));
      await r.take('docker run --rm', () => run('docker', ['run', '--rm', image, 'true']));
    }
    const dockerExec = { label: 'docker exec', ms: r.median('docker exec') };
    const dockerRun = { label: 'docker run --rm', ms: r.median('docker run --rm') };
    row('node -e 0 (node\'s own start)', r.median('node'));
    for (const name of Object.keys(CLIS)) {
      const label = name === 'paddock' ? 'paddock' : `${name} (PADDOCK_BENCH_BASE)`;
      console.log(`\n${label}:`);
      row('  --version (node + the command table)', r.median(`${name} --version`));
      row('  exec SANDBOX -- true', r.median(`${name} exec`), { ...dockerExec, target: 1.5 });
      row('  run shell WS (sandbox running)', r.median(`${name} run (running sandbox)`), { ...dockerRun, target: 1.3 });
      const version = r.median(`${name} --version`);
      const exec = r.median(`${name} exec`);
      console.log(`  exec's parts: node ${r.median('node').toFixed(0)} ms, command table ${(version - r.median('node')).toFixed(0)} ms, engine client and the engine's answers ${(exec - version).toFixed(0)} ms`);
    }

    // Cold: a new sandbox each time (create, start, the shell, then removed), as `docker run --rm` is;
    // each CLI (this build, and PADDOCK_BENCH_BASE's) in the same rounds.
    const cold = new Rounds();
    for (let i = 0; i < (process.env.PADDOCK_BENCH_COLD === '0' ? 0 : Math.min(N, 5)); i++) {
      // The builds take turns at going first here too.
      const order = i % 2 ? Object.entries(CLIS).reverse() : Object.entries(CLIS);
      for (const [name, cli] of order) {
        const fresh = mkdtempSync(join(tmpdir(), 'paddock-bench-cli-'));
        let trace = '';
        const started = performance.now();
        await cold.take(name, async () => { trace = await runTraced(NODE, [cli, 'run', 'shell', fresh, '--', '-c', 'true']); });
        const parts = coldParts(trace, performance.now() - started);
        parts?.forEach((ms, k) => cold.samples.set(`${name} part ${k}`, [...(cold.samples.get(`${name} part ${k}`) ?? []), ms]));
        await run(NODE, [cli, 'rm', fresh]);
        rmSync(fresh, { recursive: true, force: true });
      }
      await cold.take('docker', () => run('docker', ['run', '--rm', image, 'true']));
    }
    console.log('');
    for (const name of cold.samples.size ? Object.keys(CLIS) : []) {
      row(`cold ${name === 'paddock' ? 'paddock' : name} run shell (new sandbox)`, cold.median(name), { label: 'docker run --rm', ms: cold.median('docker'), target: 1.3 });
      if (cold.samples.has(`${name} part 0`)) console.log(`  its parts (medians, each from the step before): ${COLD_PARTS.map((label, k) => `${label} ${cold.median(`${name} part ${k}`).toFixed(0)} ms`).join(', ')}`);
    }

    if (engine.endpoint.host.startsWith('unix://')) {
      const socket = engine.endpoint.host.slice('unix://'.length);
      const paddockRequests = await countRequests(socket, NODE, [CLIS.paddock, 'exec', sandbox.name, '--', 'true']);
      const dockerRequests = await countRequests(socket, 'docker', ['exec', '-u', 'agent', sandbox.name, 'true']);
      console.log(`\nengine requests: paddock exec ${paddockRequests.length} (${paddockRequests.join(', ')})`);
      console.log(`                 docker exec  ${dockerRequests.length} (${dockerRequests.join(', ')})`);
    }
  } finally {
    await engine.remove(sandbox.id);
    rmSync(ws, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
