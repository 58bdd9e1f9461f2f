// Where one bridge exec_command spends its time (printed, never asserted): each stage of the
// bridge's exec path timed on its own against a real target container, then the whole call
// (BridgeService.exec, and through MCP), next to a raw Docker API exec of the same command.
// The prologue's own steps are timed by a copy of it with time marks (never the shipped text).
//
// Run: node --import tsx bench/bridge-stages.bench.ts
//   BENCH_ROUNDS=15                  rounds per stage (median and p95 printed)
//   BENCH_IMAGE=debian:bookworm-slim the target's image
//   BENCH_TREE=0                     folders of 10 files each to add to the target (a node_modules-like tree:
//                                    the view's walk grows with files, its check of a saved walk with folders)
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Docker from 'dockerode';
import { AuditLog } from '../src/bridge/audit.js';
import { PhysicalViews } from '../src/bridge/physicalView.js';
import { BridgeHttpServer } from '../src/bridge/server.js';
import { BridgeService } from '../src/bridge/service.js';
import { createBridgeServer } from '../src/bridge/tools.js';
import { unixFetch } from '../src/bridge/unix-fetch.js';
import { VIEW_PROLOGUE } from '../src/bridge/viewPrologue.js';
import { PathMatcher } from '../src/core/bridgeExecRules.js';
import { policySchema } from '../src/core/policy.js';
import { execCollect } from '../src/engine/docker.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const IMAGE = process.env.BENCH_IMAGE ?? 'debian:bookworm-slim';

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const rows: string[] = [];
async function stage(label: string, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  const p50 = quantile(times, 0.5);
  rows.push(`${label.padEnd(58)} p50 ${p50.toFixed(1).padStart(7)} ms   p95 ${quantile(times, 0.95).toFixed(1).padStart(7)} ms`);
  console.log(rows.at(-1));
  return p50;
}

/** The prologue with a time mark (to stderr) before each of its steps. */
function timedPrologue(): string {
  const marks: [string, string][] = [
    ['my $mountinfo', 'caps read'],
    ['my @ns;', 'saved walk read'],
    ["sc('unshare', 0x00020000);", 'namespaces joined'],
    ['sub stamp', 'mount namespace private'],
    ['if (!$unchanged) {', 'kept folders checked'],
    ['close $cacheOut if $cacheOut;', 'changed folders read, kept'],
    ['# Resolve the user', 'blocked paths mounted over'],
    ["sc('mount', 'proc', '/proc'", 'pid namespace, forked'],
    ['# Drop every privilege', 'own /proc mounted'],
    ['%ENV = ();', 'privileges dropped'],
    ['exec { $cmd[0] }', 'ready to exec'],
  ];
  let text = VIEW_PROLOGUE.replace('use strict;', 'use Time::HiRes (); my $T0 = Time::HiRes::time(); sub mark { printf STDERR "mark %s %.1f\\n", $_[0], 1000 * (Time::HiRes::time() - $T0) } use strict;');
  for (const [anchor, label] of marks) {
    if (!text.includes(anchor)) throw new Error(`the prologue changed: no "${anchor}"`);
    text = text.replace(anchor, `mark('${label}'); ${anchor}`);
  }
  return text;
}

async function main(): Promise<void> {
  const docker = new Docker();
  const name = `paddock-bench-stages-${randomBytes(3).toString('hex')}`;
  const container = await docker.createContainer({ name, Image: IMAGE, Entrypoint: ['sleep'], Cmd: ['2147483647'], WorkingDir: '/' });
  await container.start();
  const tree = Number(process.env.BENCH_TREE ?? 0);
  if (tree) {
    const made = await execCollect(docker, container.id, { Cmd: ['sh', '-c', `i=0; while [ $i -lt ${tree} ]; do mkdir -p /srv/tree/d$i && cd /srv/tree/d$i && touch a b c d e f g h i j; i=$((i+1)); done`] });
    if (made.exitCode !== 0) throw new Error(`could not make the tree: ${made.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // a walk is saved only when no folder changed in the 2 s before it
  }
  const dir = mkdtempSync(join(tmpdir(), 'paddock-bench-stages-'));
  const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [name], exec: { [name]: ['true', 'ls', 'echo *'] } } });
  const service = new BridgeService(docker, { bridge: policy.bridge, tier: policy.tier });
  const token = randomBytes(24).toString('base64url');
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const server = new BridgeHttpServer(token, () => createBridgeServer(service, audit, 'bench'));
  const socket = join(dir, 'b.sock');
  await server.listen({ kind: 'unix', path: socket });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL('http://paddock-bridge/mcp'), { requestInit: { headers: { Authorization: `Bearer ${token}` } }, fetch: unixFetch(socket) }));
  const helperName = `paddock-bridge-view-${container.id.slice(0, 12)}`;
  try {
    const target = await service.target(name);
    const stats = { count: 0, rules: {} };
    await service.exec(target, 'true', 60, stats); // makes the view's helper
    const views = new PhysicalViews(docker, new PathMatcher(policy.bridge.blockedPaths));
    const info = await container.inspect();
    const viewTarget = { user: info.Config.User || '', workdir: info.Config.WorkingDir || '/', env: info.Config.Env ?? [] };
    console.log(`target ${IMAGE}${tree ? ` with ${tree} more folders of 10 files` : ''}, ${ROUNDS} rounds per stage, load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
    await stage('raw Docker API exec of true in the target', () => execCollect(docker, container.id, { Cmd: ['true'] }));
    await stage('raw Docker API exec of ls in the target', () => execCollect(docker, container.id, { Cmd: ['ls'] }));
    await stage('engine: list containers (resolve the target)', () => service.target(name));
    await stage('engine: inspect the target', () => container.inspect());
    await stage('engine: inspect the view helper (liveness check)', () => docker.getContainer(helperName).inspect());
    await stage('audit: write one line', async () => audit.begin({ time: new Date().toISOString(), sandbox: 'bench', tool: 'exec_command', args: {} }));
    await stage('docker exec of true in the helper (no prologue)', () => execCollect(docker, helperName, { Cmd: ['true'], User: '0:0' }));
    await stage('docker exec of perl -e 1 in the helper', () => execCollect(docker, helperName, { Cmd: ['perl', '-e', '1'], User: '0:0' }));
    const timed = timedPrologue();
    const marks = new Map<string, number[]>();
    await stage('prologue + true in the helper (timed copy)', async () => {
      const options = views.execOptions('exec', viewTarget, ['true'], 0, randomUUID());
      (options.Cmd as string[])[2] = timed;
      const { stderr, exitCode } = await execCollect(docker, helperName, options);
      if (exitCode !== 0) throw new Error(`prologue failed (${exitCode}): ${stderr}`);
      for (const [, label, ms] of stderr.matchAll(/^mark (.+) ([\d.]+)$/gm)) marks.set(label, [...(marks.get(label) ?? []), Number(ms)]);
    });
    let previous = 0;
    for (const [label, times] of marks) {
      const at = quantile(times, 0.5);
      console.log(`    inside the prologue: ${label.padEnd(28)} at ${at.toFixed(1).padStart(7)} ms (+${(at - previous).toFixed(1)})`);
      previous = at;
    }
    await stage('BridgeService.exec of true (no MCP, no audit)', () => service.exec(target, 'true', 60, { count: 0, rules: {} }));
    await stage('BridgeService.exec of ls', () => service.exec(target, 'ls', 60, { count: 0, rules: {} }));
    await stage('get_security_policy through MCP (the round trip alone)', () => client.callTool({ name: 'get_security_policy', arguments: {} }));
    await stage('exec_command of true through MCP (the whole call)', async () => {
      const r = await client.callTool({ name: 'exec_command', arguments: { container: name, command: 'true' } });
      if (r.isError) throw new Error(JSON.stringify(r.content));
    });
    await stage('exec_command of ls through MCP', () => client.callTool({ name: 'exec_command', arguments: { container: name, command: 'ls' } }));
  } finally {
    await client.close();
    await server.close();
    await container.remove({ force: true }); // its view helper goes with it (AutoRemove, shared PID namespace)
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
