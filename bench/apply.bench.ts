// What an apply (a new container that keeps the sandbox's state, src/engine/apply.ts) costs in time
// and disk, on a sandbox with a few hundred MB installed, against a plain recreate that loses it.
// Prints numbers; asserts nothing.
//   npm run bench:apply          (PADDOCK_BENCH_APPLY_MB=300, PADDOCK_BENCH_N=3 by default; PADDOCK_BENCH_SQUASH=0 skips the squash)
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../src/core/policy.js';
import { stateImages } from '../src/engine/apply.js';
import { approvePolicy } from '../src/engine/approvedPolicy.js';
import { SandboxEngine } from '../src/engine/engine.js';
import { prepareSandbox } from '../src/engine/sandboxes.js';
import { median, time } from './support.js';

const MB = Number(process.env.PADDOCK_BENCH_APPLY_MB ?? 300);
const N = Number(process.env.PADDOCK_BENCH_N ?? 3);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  const engine = SandboxEngine.connect();
  await engine.ping();
  const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-apply-'));
  mkdirSync(join(ws, '.paddock'));
  const setPolicy = (n: number, name?: string) => {
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), `version: 1\nenv:\n  BENCH_ROUND: "${n}"\n`);
    if (name) approvePolicy(name, loadPolicy(ws), 'cli');
  };
  setPolicy(0);
  let name = '';
  try {
    const first = await prepareSandbox(engine, { agent: 'shell', workspace: ws });
    name = first.sandbox.name;
    const templateSize = (await engine.docker.getImage(first.sandbox.image).inspect()).Size;
    // "Installed": a package of MB megabytes (incompressible, like binaries), through dpkg as apt would.
    const install = await engine.execCapture(name, ['sh', '-c', [
      'mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/opt/bench',
      'printf "Package: paddock-bench\\nVersion: 1\\nArchitecture: all\\nMaintainer: b <b@example.invalid>\\nDescription: bench\\n" > /tmp/pkg/DEBIAN/control',
      `for i in $(seq 1 ${Math.max(1, Math.round(MB / 10))}); do head -c 10M /dev/urandom > /tmp/pkg/opt/bench/part$i; done`,
      'dpkg-deb -Znone --build /tmp/pkg /tmp/b.deb >/dev/null && dpkg -i /tmp/b.deb >/dev/null && rm -rf /tmp/pkg /tmp/b.deb',
    ].join(' && ')], { user: 'root' });
    if (install.exitCode !== 0) throw new Error(install.stderr);
    console.log(`Apply vs plain recreate: sandbox with ${MB} MB installed, median of ${N}; template ${first.sandbox.image} (${mb(templateSize)})\n`);

    const applies: number[] = [];
    for (let i = 1; i <= N; i++) {
      setPolicy(i, name);
      const phases: string[] = [];
      const began = Date.now();
      let last = began;
      const phase = (line: string) => {
        const now = Date.now();
        phases.push(`${((now - last) / 1000).toFixed(1)} s, then ${line.replace(/ (of|sandbox) .*/, '').toLowerCase()}`);
        last = now;
      };
      applies.push(await time(() => prepareSandbox(engine, { agent: 'shell', workspace: ws, recreate: true }, phase)));
      phases.push(`${((Date.now() - last) / 1000).toFixed(1)} s`);
      const images = await stateImages(engine.docker, name);
      const size = images[0] ? (await engine.docker.getImage(images[0].Id).inspect()).Size - templateSize : 0;
      console.log(`  apply ${i}: ${(applies[i - 1] / 1000).toFixed(1)} s; state image over the template: ${mb(size)} (${images.length} tagged)\n    steps: ${phases.join(' · ')}`);
    }
    if (process.env.PADDOCK_BENCH_SQUASH !== '0') {
      process.env.PADDOCK_APPLY_MAX_LAYERS = '2';
      setPolicy(N + 1, name);
      const squash = await time(() => prepareSandbox(engine, { agent: 'shell', workspace: ws, recreate: true }));
      delete process.env.PADDOCK_APPLY_MAX_LAYERS;
      const squashed = (await stateImages(engine.docker, name))[0];
      console.log(`  apply with a squash (every ~100 applies): ${(squash / 1000).toFixed(1)} s; its image: ${mb(squashed ? (await engine.docker.getImage(squashed.Id).inspect()).Size : 0)} (a full copy, template included)`);
    }

    const recreates: number[] = [];
    for (let i = 0; i < N; i++) {
      recreates.push(await time(async () => {
        await engine.remove(name);
        await prepareSandbox(engine, { agent: 'shell', workspace: ws });
      }));
    }
    console.log(`\napply (state kept)        ${(median(applies) / 1000).toFixed(1).padStart(6)} s`);
    console.log(`plain recreate (lost)     ${(median(recreates) / 1000).toFixed(1).padStart(6)} s   ratio ${(median(applies) / median(recreates)).toFixed(1)}×`);
  } finally {
    if (name) await engine.remove(name).catch(() => {});
    rmSync(ws, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
