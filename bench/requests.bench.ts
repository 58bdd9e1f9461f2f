// The engine requests each `paddock` command makes, against the docker CLI's for the same act
// (issue 14): counted through a relay socket (./support.ts), so nothing in Paddock is changed to
// count them. A repeated request is one to cut. Build first (`npm run build`: it runs bin/paddock).
//   node --import tsx bench/requests.bench.ts        (PADDOCK_BENCH_VERBOSE=1 also lists each paddock request as it comes, with its time)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxEngine } from '../src/engine/engine.js';
import { TemplateBuilder } from '../src/engine/templates.js';
import { countRequests, runCommand } from './support.js';

const CLI = join(__dirname, '..', 'bin', 'paddock');
const VERBOSE = !!process.env.PADDOCK_BENCH_VERBOSE;

/** "GET /containers/x/json" x3, grouped, in first-seen order. */
function summary(requests: string[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.replace(/\?.*$/, ''), (counts.get(r.replace(/\?.*$/, '')) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${r} ×${n}` : r)).join(', ');
}

async function main(): Promise<void> {
  const engine = SandboxEngine.connect();
  await engine.ping();
  if (!engine.endpoint.host.startsWith('unix://')) throw new Error('This bench counts requests on a local engine socket (unix://).');
  const socket = engine.endpoint.host.slice('unix://'.length);
  const image = await new TemplateBuilder(engine.docker).ensureAgentImage('shell');
  const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-req-'));
  const name = `paddock-bench-req-${process.pid}`;
  const rawName = `paddock-bench-req-raw-${process.pid}`;
  const paddock = (args: string[]) => countRequests(socket, process.execPath, [CLI, ...args], VERBOSE ? (ms, r) => console.log(`  +${String(ms).padStart(5)} ms ${args[0]}: ${r.slice(0, 140)}`) : undefined);
  const docker = (args: string[]) => countRequests(socket, 'docker', args);
  const rows: [string, string[], string, string[]][] = [];
  try {
    rows.push(['paddock create', await paddock(['create', 'shell', ws, '--name', name]), 'docker create + start', [...await docker(['create', '--name', rawName, image, 'sleep', 'infinity']), ...await docker(['start', rawName])]]);
    rows.push(['paddock exec', await paddock(['exec', name, '--', 'true']), 'docker exec', await docker(['exec', rawName, 'true'])]);
    rows.push(['paddock run (running)', await paddock(['run', 'shell', ws, '--', '-c', 'true']), 'docker run --rm', await docker(['run', '--rm', image, 'true'])]);
    rows.push(['paddock ls', await paddock(['ls']), 'docker ps -a', await docker(['ps', '-a'])]);
    rows.push(['paddock stop', await paddock(['stop', name]), 'docker stop', await docker(['stop', '-t', '1', rawName])]);
    rows.push(['paddock start', await paddock(['start', name]), 'docker start', await docker(['start', rawName])]);
    rows.push(['paddock rm', await paddock(['rm', name]), 'docker rm -f', await docker(['rm', '-f', rawName])]);
    rows.push(['paddock run (new sandbox)', await paddock(['run', 'shell', ws, '--name', name, '--', '-c', 'true']), 'docker run --rm', await docker(['run', '--rm', image, 'true'])]);
  } finally {
    await runCommand(process.execPath, [CLI, 'rm', name]).catch(() => {});
    await runCommand('docker', ['rm', '-f', rawName]).catch(() => {});
    rmSync(ws, { recursive: true, force: true });
  }
  for (const [label, requests, dockerLabel, dockerRequests] of rows) {
    console.log(`${label.padEnd(26)} ${String(requests.length).padStart(3)} requests   ${dockerLabel.padEnd(22)} ${String(dockerRequests.length).padStart(3)}`);
    console.log(`  ${summary(requests)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
