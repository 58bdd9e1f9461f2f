// The extension's costs, on this machine, in this run. Prints numbers and ratios; asserts nothing.
//   node --import tsx bench/extension.bench.ts      (after npm run build; PADDOCK_BENCH_N=20 for more)
// - activation: a fresh node process loads dist/extension.js and runs activate() against a
//   minimal stand-in of the `vscode` API (plain node has no editor; the real editor adds its own
//   extension-host overhead on top), against loading dockerode alone. Activation registers the
//   contributions and defers the engine half (vscode/services.ts), which loads right after:
//   its cost is printed too (require of the whole engine graph);
// - .vsix size, packaged as users get it;
// - tree refresh: reading the sandboxes from the real engine (loadViews) against raw dockerode
//   list + inspect in the same run; and building the tree for 100 sandboxes' worth of data.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxEngine } from '../src/engine/engine.js';
import type { SandboxDetails } from '../src/engine/types.js';
import { loadViews } from '../src/vscode/loadViews.js';
import { buildTree, type SandboxView } from '../src/vscode/treeModel.js';
import { median, time } from './support.js';

const N = Number(process.env.PADDOCK_BENCH_N ?? 10);
const REPO = join(__dirname, '..');


// Runs in a child: stubs `vscode`, then times require + activate of the bundle.
const ACTIVATE = String.raw`
const Module = require('module');
// Any property is a callable, constructible stand-in: enough for activate() to wire itself up.
const make = () => { const cache = {}; return new Proxy(function () {}, {
  get: (_, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => 0 : (cache[k] ??= make())),
  set: (_, k, v) => { cache[k] = v; return true; },
  apply: () => make(), construct: () => make(),
}); };
// esbuild's ESM interop copies own keys onto an object whose prototype is the module's: answer
// every lookup through that prototype.
const any = make();
const vscode = new Proxy({}, { get: (_, k) => any[k], getPrototypeOf: () => any });
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest); };
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscode };
const target = process.argv[1];
const t0 = process.hrtime.bigint();
const ext = require(target);
const t1 = process.hrtime.bigint();
if (ext.activate) { const ctx = { subscriptions: [], extension: { packageJSON: require(process.argv[2]) }, extensionUri: {} }; ext.activate(ctx); }
const t2 = process.hrtime.bigint();
process.stdout.write(JSON.stringify({ load: Number(t1 - t0) / 1e6, activate: Number(t2 - t1) / 1e6 }));
process.exit(0);
`;

function childTimes(target: string): { load: number; activate: number } {
  const r = spawnSync(process.execPath, ['-e', ACTIVATE, target, join(REPO, 'package.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

function fakeDetails(i: number): SandboxDetails {
  const workspace = `/home/me/project-${i % 20}`;
  return {
    name: `paddock-shell-p${i}`, id: `id${i}`, workspace, agent: ['claude', 'gemini', 'codex', 'shell'][i % 4], status: i % 3 ? 'running' : 'stopped',
    runtime: 'runc', image: 'paddock-shell:0123456789ab', created: new Date().toISOString(), startedAt: new Date().toISOString(),
    ports: [{ containerPort: 3000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 40000 + i }],
    mounts: [{ type: 'bind', source: workspace, target: workspace, readOnly: false },
      ...Array.from({ length: 10 }, (_, k) => ({ type: 'bind', source: '/dev/null', target: `${workspace}/secret-${k}.env`, readOnly: true }))],
    envNames: [], injectedKeys: [], limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, user: { uid: 1000, gid: 1000 },
  };
}

async function main(): Promise<void> {
  const bundle = join(REPO, 'dist', 'extension.js');
  const ext = Array.from({ length: N }, () => childTimes(bundle));
  const raw = Array.from({ length: N }, () => childTimes(require.resolve('dockerode')));
  const load = median(ext.map((t) => t.load));
  const activate = median(ext.map((t) => t.activate));
  const rawLoad = median(raw.map((t) => t.load));
  console.log(`activation (median of ${N} fresh processes, stub vscode API):`);
  console.log(`  load dist/extension.js  ${load.toFixed(1)} ms   (dockerode alone: ${rawLoad.toFixed(1)} ms, ratio ${(load / rawLoad).toFixed(2)})`);
  console.log(`  activate()              ${activate.toFixed(1)} ms`);
  console.log(`  total                   ${(load + activate).toFixed(1)} ms   (target < 50 ms)`);
  const later = median(Array.from({ length: N }, () => childTimes(join(REPO, 'dist', 'vscode', 'services.js')).load));
  console.log(`  engine half, loaded right after activation (dist/vscode/services.js): ${later.toFixed(1)} ms`);

  const out = mkdtempSync(join(tmpdir(), 'paddock-bench-vsix-'));
  try {
    const vsix = join(out, 'paddock.vsix');
    const r = spawnSync(join(REPO, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const size = statSync(vsix).size;
    console.log(`.vsix size               ${(size / 1024).toFixed(0)} KiB   (target < 2048 KiB)`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const views: SandboxView[] = Array.from({ length: 100 }, (_, i) => ({
    details: fakeDetails(i), network: { policy: 'deny', allow: ['docs.example.com', 'api.anthropic.com'], deny: [] }, bridgeContainers: ['demo-api', 'demo-db'],
  }));
  const folders = Array.from({ length: 5 }, (_, i) => ({ name: `project-${i}`, path: `/home/me/project-${i}` }));
  const build = [];
  for (let i = 0; i < N * 10; i++) build.push(await time(() => buildTree(folders, views, Date.now(), true)));
  console.log(`tree model, 100 sandboxes  ${median(build).toFixed(2)} ms per rebuild   (target < 100 ms)`);

  const engine = SandboxEngine.connect();
  try {
    await engine.ping();
  } catch {
    console.log('tree refresh from the engine: skipped (no engine answers)');
    return;
  }
  const count = (await engine.list()).length;
  const paddock = [];
  const rawDocker = [];
  for (let i = 0; i < N; i++) {
    paddock.push(await time(() => loadViews(engine)));
    rawDocker.push(await time(async () => {
      const list = await engine.docker.listContainers({ all: true, filters: { label: ['dev.paddock.sandbox=1'] } });
      await Promise.all(list.map((c) => engine.docker.getContainer(c.Id).inspect()));
    }));
  }
  const p = median(paddock);
  const d = median(rawDocker);
  console.log(`tree refresh from the engine (${count} sandboxes present): ${p.toFixed(1)} ms; raw list + inspect ${d.toFixed(1)} ms; ratio ${(p / d).toFixed(2)}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
