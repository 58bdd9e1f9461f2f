// Where a cold create + start + first exec spends its time: each Engine API call Paddock makes,
// timed at the client (docker.modem.dial), for both egress shapes (shared service; a network and
// proxy of its own, PADDOCK_EGRESS_SHAPE=own), next to raw Docker's create/start/exec, interleaved
// in the same run.
//   node --import tsx bench/steps.bench.ts   (PADDOCK_BENCH_N=5 by default)
//   PADDOCK_TRACE=1 also prints the init's steps (templates/base/paddock-init), each as ms since the
//   start request was sent (the trace itself costs the init two processes a step)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits } from '../src/core/options.js';
import { SandboxEngine } from '../src/engine/engine.js';
import { TemplateBuilder } from '../src/engine/templates.js';
import { median, time } from './support.js';

const N = Number(process.env.PADDOCK_BENCH_N ?? 5);
/** PADDOCK_BENCH_SHAPES=shared: only the shape every sandbox on a local engine gets. */
const SHAPES = (process.env.PADDOCK_BENCH_SHAPES ?? 'own,shared').split(',').filter((s): s is 'own' | 'shared' => s === 'own' || s === 'shared');

async function main(): Promise<void> {
  const engine = SandboxEngine.connect();
  await engine.ping();
  const image = await new TemplateBuilder(engine.docker).ensureAgentImage('shell');
  const limits = resolveLimits({});
  const calls: { key: string; ms: number }[] = [];
  const modem = engine.docker.modem as any;
  const dial = modem.dial.bind(modem);
  modem.dial = (options: any, callback: (err: unknown, data: unknown) => void) => {
    const started = process.hrtime.bigint();
    const key = `${options.method} ${String(options.path).replace(/\?.*$/, '').replace(/[0-9a-f]{64}|paddock-[\w.-]+/g, ':id')}`;
    return dial(options, (err: unknown, data: unknown) => { calls.push({ key, ms: Number(process.hrtime.bigint() - started) / 1e6 }); callback(err, data); });
  };
  const cpuMs = async (id: string) => {
    const stats = (await engine.docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false })) as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
    return (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e6;
  };
  const phases: Record<string, number[]> = {};
  const add = (k: string, ms: number) => { (phases[k] ??= []).push(ms); };
  const perCall: Record<string, number[]> = {};
  // The init's trace lines, as the engine prints them (src/engine/trace.ts: "+MS ms init: STEP").
  const traced: string[] = [];
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('paddock trace')) { traced.push(chunk); return true; }
    return (stderrWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  const initSteps = (shape: string) => {
    const at = (line: string) => Number(/\+\s*(\d+) ms/.exec(line)?.[1]);
    const sent = traced.find((l) => /→ POST \/containers\/[^/]+\/start/.test(l));
    for (const line of sent ? traced : []) {
      const step = / ms (init: .*|sandbox \S+: \w+)$/.exec(line.trimEnd())?.[1]?.replace(/^sandbox \S+: /, 'outcome: ');
      if (step) add(`${shape}: ${step}`, at(line) - at(sent!));
    }
    traced.length = 0;
  };
  for (let i = 0; i < N; i++) {
    for (const shape of SHAPES) {
      if (shape === 'own') process.env.PADDOCK_EGRESS_SHAPE = 'own';
      else delete process.env.PADDOCK_EGRESS_SHAPE;
      const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-'));
      const name = `paddock-steps-${process.pid}-${shape}-${i}`;
      calls.length = 0;
      let id = '';
      const total = await time(async () => {
        add(`${shape}: create`, await time(async () => { id = (await engine.create({ workspace: ws, agent: 'shell', image, limits, name })).id; }));
        const createCalls = calls.splice(0);
        traced.length = 0;
        add(`${shape}: start`, await time(() => engine.start(id)));
        const startCalls = calls.splice(0);
        // CPU the sandbox's processes used by then (its cgroup): the init's work, less noisy than its wall time under load.
        add(`${shape}: container CPU by ready`, await cpuMs(id));
        initSteps(shape);
        add(`${shape}: first exec`, await time(() => engine.execCapture(id, ['true'])));
        for (const [phase, list] of [['create', createCalls], ['start', startCalls]] as const) {
          for (const c of list) (perCall[`${shape} ${phase}: ${c.key}`] ??= []).push(c.ms);
        }
      });
      add(`${shape}: total`, total);
      await engine.remove(name);
      rmSync(ws, { recursive: true, force: true });
    }
    let c: any;
    const total = await time(async () => {
      add('raw: create', await time(async () => { c = await engine.docker.createContainer({ Image: image, Cmd: ['sleep', '60'], HostConfig: { Init: true } }); }));
      add('raw: start', await time(() => c.start()));
      add('raw: container CPU by ready', await cpuMs(c.id));
      add('raw: first exec', await time(async () => {
        const exec = await c.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        await new Promise((r) => { stream.on('end', r); stream.resume(); });
        await exec.inspect();
      }));
    });
    add('raw: total', total);
    await c.remove({ force: true });
  }
  for (const [k, v] of Object.entries(phases)) console.log(`${k.padEnd(30)} ${median(v).toFixed(1).padStart(8)} ms`);
  const raw = median(phases['raw: total']);
  for (const shape of SHAPES) console.log(`${shape} create+start+first exec / raw: ${(median(phases[`${shape}: total`]) / raw).toFixed(2)}x`);
  console.log('\nAPI calls (median ms, count per sandbox):');
  for (const [k, v] of Object.entries(perCall).sort((a, b) => median(b[1]) * b[1].length - median(a[1]) * a[1].length)) console.log(`  ${k.padEnd(60)} ${median(v).toFixed(1).padStart(8)}  x${(v.length / N).toFixed(1)}`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
