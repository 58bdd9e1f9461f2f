// Paddock vs raw Docker, on this machine, in this run. Prints medians and ratios; asserts nothing.
//   npm run bench            (N=10 by default; PADDOCK_BENCH_N=20 for more)
//   PADDOCK_BENCH_SCALE=100  sandboxes created in sequence for the scale rows (0: skip them; ./scale.bench.ts)
//   PADDOCK_BENCH_BASE=DIR   also times the cold rows with another checkout's engine and templates (a source tree
//                            with node_modules; for the CLI row also built), in the same rounds: before/after
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits } from '../src/core/options.js';
import { SandboxEngine } from '../src/engine/engine.js';
import { TemplateBuilder } from '../src/engine/templates.js';
import { scaleBench } from './scale.bench.js';
import { median, time } from './support.js';

const N = Number(process.env.PADDOCK_BENCH_N ?? 10);
const SCALE = Number(process.env.PADDOCK_BENCH_SCALE ?? 100);
const CLI = join(__dirname, '..', 'bin', 'paddock');
const BASE = process.env.PADDOCK_BENCH_BASE;


function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function row(label: string, paddock: number[], raw: number[], target?: number): void {
  const p = median(paddock);
  const r = median(raw);
  const ratio = p / r;
  const verdict = target === undefined ? '' : ratio <= target ? `  (target ≤ ${target}×: met)` : `  (target ≤ ${target}×: NOT met)`;
  console.log(`${label.padEnd(46)} paddock ${p.toFixed(1).padStart(7)} ms   docker ${r.toFixed(1).padStart(7)} ms   ratio ${ratio.toFixed(2)}×${verdict}`);
}

async function main(): Promise<void> {
  const engine = SandboxEngine.connect();
  await engine.ping();
  const image = await new TemplateBuilder(engine.docker).ensureAgentImage('shell');
  const limits = resolveLimits({});
  console.log(`Paddock vs raw Docker, median of ${N} runs, image ${image}, engine ${engine.endpoint.host}\n`);

  // The other checkout's engine (its own init script and template), for the before/after of the cold rows.
  const base = BASE ? await baseEngine(BASE) : undefined;
  const coldOnce = async (which: { engine: SandboxEngine; image: string }, name: string): Promise<number> => {
    const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-'));
    try {
      return await time(async () => {
        const s = await which.engine.create({ workspace: ws, agent: 'shell', image: which.image, limits, name });
        await which.engine.start(s.id);
        await which.engine.execCapture(s.id, ['true']);
      });
    } finally {
      await which.engine.remove(name).catch(() => {});
      rmSync(ws, { recursive: true, force: true });
    }
  };

  // 1. Cold create + start + first exec, through the engine API (both sides use dockerode).
  const coldPaddock: number[] = [];
  const coldBase: number[] = [];
  const coldRaw: number[] = [];
  for (let i = 0; i < N; i++) {
    coldPaddock.push(await coldOnce({ engine, image }, `paddock-bench-${process.pid}-${i}`));
    if (base) coldBase.push(await coldOnce(base, `paddock-bench-base-${process.pid}-${i}`));
    coldRaw.push(await time(async () => {
      const c = await engine.docker.createContainer({ Image: image, Cmd: ['true'], HostConfig: { AutoRemove: false } });
      await c.start();
      await c.wait();
      await c.remove();
    }));
  }
  row('cold create+start+first exec (API)', coldPaddock, coldRaw, 1.15);
  if (base) row('  the same, PADDOCK_BENCH_BASE', coldBase, coldRaw, 1.15);

  // 2. The same through the command lines a user types.
  const coldCliPaddock: number[] = [];
  const coldCliBase: number[] = [];
  const coldCliRaw: number[] = [];
  // The other checkout's CLI too, when it was built (its bin/paddock runs its own dist/ and templates/).
  const baseCli = BASE && existsSync(join(BASE, 'dist', 'cli', 'main.mjs')) ? join(BASE, 'bin', 'paddock') : undefined;
  const coldRun = async (cli: string) => {
    const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-'));
    try {
      return await time(() => run(process.execPath, [cli, 'run', 'shell', ws, '--', '-c', 'true']));
    } finally {
      run(process.execPath, [cli, 'rm', ws]);
      rmSync(ws, { recursive: true, force: true });
    }
  };
  for (let i = 0; i < Math.min(N, 5); i++) {
    coldCliPaddock.push(await coldRun(CLI));
    if (baseCli) coldCliBase.push(await coldRun(baseCli));
    coldCliRaw.push(await time(() => run('docker', ['run', '--rm', image, 'true'])));
  }
  row('cold `paddock run` vs `docker run --rm` (CLI)', coldCliPaddock, coldCliRaw, 1.3);
  if (baseCli) row('  the same, PADDOCK_BENCH_BASE', coldCliBase, coldCliRaw, 1.3);

  // 3. exec in an existing sandbox.
  const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-'));
  const sandbox = await engine.create({ workspace: ws, agent: 'shell', image, limits, name: `paddock-bench-exec-${process.pid}` });
  await engine.start(sandbox.id);
  try {
    const execPaddock: number[] = [];
    const execRaw: number[] = [];
    const container = engine.docker.getContainer(sandbox.id);
    for (let i = 0; i < N * 2; i++) {
      execPaddock.push(await time(() => engine.execCapture(sandbox.id, ['true'])));
      execRaw.push(await time(async () => {
        const exec = await container.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true, User: 'agent' });
        const stream = await exec.start({ hijack: true, stdin: false });
        await new Promise((r) => { stream.on('end', r); stream.resume(); });
        await exec.inspect();
      }));
    }
    row('exec in a running sandbox (API)', execPaddock, execRaw, 1.2);
    const execCliPaddock: number[] = [];
    const execCliRaw: number[] = [];
    for (let i = 0; i < N; i++) {
      execCliPaddock.push(await time(() => run(process.execPath, [CLI, 'exec', sandbox.name, '--', 'true'])));
      execCliRaw.push(await time(() => run('docker', ['exec', '-u', 'agent', sandbox.name, 'true'])));
    }
    row('`paddock exec` vs `docker exec` (CLI)', execCliPaddock, execCliRaw, 1.5);

    const size = (await container.inspect({ size: true } as any)) as any;
    const mb = (size.SizeRw ?? 0) / 1024 / 1024;
    console.log(`${'new sandbox writable layer'.padEnd(46)} ${mb.toFixed(2)} MB  (target < 50 MB: ${mb < 50 ? 'met' : 'NOT met'})`);
  } finally {
    await engine.remove(sandbox.id);
    rmSync(ws, { recursive: true, force: true });
  }

  const versions: number[] = [];
  const dockerVersions: number[] = [];
  for (let i = 0; i < N; i++) {
    versions.push(await time(() => execFileSync(process.execPath, [CLI, '--version'])));
    dockerVersions.push(await time(() => execFileSync('docker', ['--version'])));
  }
  const v = median(versions);
  console.log(`${'`paddock --version` startup'.padEnd(46)} ${v.toFixed(1)} ms  (target < 150 ms: ${v < 150 ? 'met' : 'NOT met'}; \`docker --version\` ${median(dockerVersions).toFixed(1)} ms)`);
  if (SCALE > 0) await scaleBench(engine, SCALE);
}

/** The engine of another checkout (PADDOCK_BENCH_BASE), with the shell template its own templates make. */
async function baseEngine(dir: string): Promise<{ engine: SandboxEngine; image: string }> {
  const engineModule = await import(join(dir, 'src', 'engine', 'engine.ts'));
  const templatesModule = await import(join(dir, 'src', 'engine', 'templates.ts'));
  const engine = engineModule.SandboxEngine.connect() as SandboxEngine;
  return { engine, image: await new templatesModule.TemplateBuilder(engine.docker).ensureAgentImage('shell') };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
