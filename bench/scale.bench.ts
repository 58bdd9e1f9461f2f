// Many sandboxes on one engine (issue 14): COUNT shell sandboxes (small workspaces) created and
// started one after another through the engine API, each proving its egress works with one curl
// through its proxy to a local stand-in server (a container on an --internal network this bench
// makes: nothing leaves the machine); then `paddock ls` among them against `docker ps -a`, what an
// idle sandbox costs beyond the agent's own processes (memory against a raw container of the same
// image that only sleeps; the shared egress service's growth), and its idle CPU (the guards and
// forwarders). Everything it made is removed at the end. Prints; asserts nothing.
//   node --import tsx bench/scale.bench.ts     (PADDOCK_BENCH_SCALE=100 sandboxes; build first: it runs bin/paddock for ls;
//                                             PADDOCK_BENCH_BASE=DIR also times DIR/bin/paddock ls, another build)
// bench/engine.bench.ts runs the same after its own rows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planMounts } from '../src/core/hiding.js';
import { resolveLimits } from '../src/core/options.js';
import { defaultPolicy } from '../src/core/policy.js';
import { SandboxEngine } from '../src/engine/engine.js';
import { dockerMounts } from '../src/engine/hiding.js';
import { serviceName } from '../src/engine/egressService.js';
import { TemplateBuilder } from '../src/engine/templates.js';
import { useLocalInternet } from '../test/integration/network/support.js';
import { median, runCommand, time } from './support.js';

const CLI = join(__dirname, '..', 'bin', 'paddock');
/** Another build (PADDOCK_BENCH_BASE=DIR) whose `ls` is timed in the same rounds: before/after. */
const BASE_CLI = process.env.PADDOCK_BENCH_BASE ? join(process.env.PADDOCK_BENCH_BASE, 'bin', 'paddock') : undefined;
/** How long idle CPU is measured (PADDOCK_BENCH_IDLE_SECONDS, 60; half that is waited first). */
const IDLE_SECONDS = Number(process.env.PADDOCK_BENCH_IDLE_SECONDS ?? 60);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);

/** CPU time (ns) and memory without page cache (bytes) of a container, from one stats reading. */
async function usage(engine: SandboxEngine, id: string): Promise<{ cpuNs: number; memory: number }> {
  const s = (await engine.docker.getContainer(id).stats({ stream: false })) as any;
  const cache = s.memory_stats?.stats?.inactive_file ?? s.memory_stats?.stats?.total_inactive_file ?? 0;
  return { cpuNs: s.cpu_stats?.cpu_usage?.total_usage ?? 0, memory: (s.memory_stats?.usage ?? 0) - cache };
}

function line(label: string, text: string): void {
  console.log(`${label.padEnd(46)} ${text}`);
}

/** COUNT sandboxes in sequence, each with working egress; ls among them; what an idle one costs. Removes all it made. */
export async function scaleBench(engine: SandboxEngine, count: number): Promise<void> {
  const net = await useLocalInternet('paddock-bench-scale-');
  const image = await new TemplateBuilder(engine.docker).ensureAgentImage('shell');
  const limits = resolveLimits({ memory: '256m', cpus: 0.5 });
  // The stand-in's address too: the proxy refuses a name that resolves to a private address unless the rules allow it.
  const network = { policy: 'deny' as const, allow: ['allowed.test', net.a], deny: [], hostRegistries: false };
  const service = serviceName(net.stateDir, net.network);
  const names: string[] = [];
  const workspaces: string[] = [];
  const each: number[] = [];
  const egress: number[] = [];
  const failures: string[] = [];
  let serviceWithOne = 0; // the shared service's memory once it serves the first sandbox (it starts with it)
  // What an idle sandbox costs beyond the agent's own processes: a raw container of the same image that only sleeps.
  const raw = await engine.docker.createContainer({ Image: image, Cmd: ['sleep', 'infinity'], HostConfig: { Init: true, NetworkMode: 'none' } });
  await raw.start();
  try {
    const total = await time(async () => {
      for (let i = 0; i < count; i++) {
        const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-scale-'));
        workspaces.push(ws);
        writeFileSync(join(ws, 'README.md'), `workspace ${i}\n`);
        // A secret to hide, as in most projects: the guards inside (mounts, new secrets) run as they do for a user.
        writeFileSync(join(ws, '.env'), `TOKEN=bench-${i}\n`);
        const name = `paddock-bench-scale-${process.pid}-${i}`;
        each.push(await time(async () => {
          await engine.create({ workspace: ws, agent: 'shell', image, limits, name, network, extraMounts: dockerMounts(planMounts(ws, defaultPolicy())) });
          names.push(name);
          await engine.start(name);
        }));
        let answer = '';
        egress.push(await time(async () => {
          const r = await engine.execCapture(name, ['curl', '-s', '-m', '20', '-o', '/dev/null', '-w', '%{http_code}', 'http://allowed.test/']);
          answer = r.stdout.trim() || `exit ${r.exitCode}: ${r.stderr.trim()}`;
        }));
        if (answer !== '200') failures.push(`${name}: ${answer}`);
        if (i === 0) serviceWithOne = (await usage(engine, service)).memory;
      }
    });
    line(`${count} sandboxes created+started in sequence`, `${(total / 1000).toFixed(1)} s in all (with the curls), ${median(each).toFixed(0)} ms median each (first ${each[0].toFixed(0)} ms, last ${each[each.length - 1].toFixed(0)} ms)`);
    line('egress of each (one curl through its proxy)', `${count - failures.length}/${count} answered 200, ${median(egress).toFixed(0)} ms median${failures.length ? `; failed: ${failures.slice(0, 5).join('; ')}` : ''}`);

    const ls: number[] = [];
    const baseLs: number[] = [];
    const dockerPs: number[] = [];
    for (let i = 0; i < 5; i++) {
      ls.push(await time(() => runCommand(process.execPath, [CLI, 'ls'])));
      if (BASE_CLI) baseLs.push(await time(() => runCommand(process.execPath, [BASE_CLI, 'ls'])));
      dockerPs.push(await time(() => runCommand('docker', ['ps', '-a'])));
    }
    const lsMs = median(ls);
    line(`\`paddock ls\` among ${count} vs \`docker ps -a\``, `${lsMs.toFixed(0)} ms vs ${median(dockerPs).toFixed(0)} ms (${(lsMs / median(dockerPs)).toFixed(2)}×; target < 1000 ms: ${lsMs < 1000 ? 'met' : 'NOT met'})`);
    if (BASE_CLI) line('  the same with PADDOCK_BENCH_BASE\'s build', `${median(baseLs).toFixed(0)} ms`);

    // Idle: half a minute after the last start, CPU over a minute of a sample, memory of all.
    const seconds = IDLE_SECONDS;
    await new Promise((r) => setTimeout(r, (seconds / 2) * 1000));
    const sample = names.filter((_, i) => i % Math.max(1, Math.floor(count / 10)) === 0);
    const ids = [...sample, raw.id, service];
    const before = await Promise.all(ids.map((id) => usage(engine, id)));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = await Promise.all(ids.map((id) => usage(engine, id)));
    const cpu = (i: number) => (after[i].cpuNs - before[i].cpuNs) / (seconds * 1e9) * 100;
    const sandboxCpu = median(sample.map((_, i) => cpu(i)));
    const rawAt = sample.length;
    const memories = await Promise.all(names.map((n) => usage(engine, n).then((u) => u.memory)));
    const beyond = median(memories) - after[rawAt].memory;
    const servicePerSandbox = count > 1 ? Math.max(0, after[rawAt + 1].memory - serviceWithOne) / (count - 1) : after[rawAt + 1].memory;
    line('idle sandbox memory (median of all)', `${mb(median(memories))} MB; a raw sleeping container ${mb(after[rawAt].memory)} MB: ${mb(beyond)} MB beyond the agent's processes`);
    line('shared egress service', `${mb(after[rawAt + 1].memory)} MB with ${count} sandboxes, ${mb(serviceWithOne)} MB with one: ${mb(servicePerSandbox)} MB more per sandbox; ${cpu(rawAt + 1).toFixed(3)}% of a core while they idle`);
    line('memory per idle sandbox, all told', `${mb(beyond + servicePerSandbox)} MB (target < 5 MB: ${beyond + servicePerSandbox < 5 * 1024 * 1024 ? 'met' : 'NOT met'})`);
    line(`idle sandbox CPU (median of a sample, ${seconds} s)`, `${sandboxCpu.toFixed(3)}% of a core; a raw sleeping container ${cpu(rawAt).toFixed(3)}% (target < 0.1%: ${sandboxCpu < 0.1 ? 'met' : 'NOT met'})`);
  } finally {
    await raw.remove({ force: true }).catch(() => {});
    for (const name of names) await engine.remove(name).catch(() => {});
    for (const ws of workspaces) rmSync(ws, { recursive: true, force: true });
    net.stop();
  }
}

if (require.main === module) {
  const engine = SandboxEngine.connect();
  engine.ping()
    .then(() => scaleBench(engine, Number(process.env.PADDOCK_BENCH_SCALE ?? 100)))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
