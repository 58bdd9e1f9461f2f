// Egress proxy overhead: fetching from a local web container through a sandbox's proxy vs a plain
// container fetching the same URL directly, on the same (test-owned, --internal) network, in this
// run. Each side runs its loop of curls inside its own container, so docker exec is not counted.
// Also the key-injecting reverse proxy (paddock-egress:3130) against the same direct fetch.
// Prints medians and ratios; asserts nothing. Nothing leaves this machine.
//   node --import tsx bench/proxy.bench.ts      (PADDOCK_BENCH_N=20 requests per round by default)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './support.js';
import { startLocalInternet } from '../test/integration/network/support.js';

const N = Number(process.env.PADDOCK_BENCH_N ?? 20);
const ROUNDS = 5;
const CLI = join(__dirname, '..', 'bin', 'paddock');

function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A shell loop of N curls; prints total milliseconds (measured inside the container). */
const loop = (url: string, proxy: boolean) =>
  `s=$(date +%s%N); i=0; while [ $i -lt ${N} ]; do curl -sS -o /dev/null ${proxy ? '' : "--noproxy '*'"} ${url} || exit 1; i=$((i+1)); done; echo $(( ($(date +%s%N) - s) / 1000000 ))`;

async function main(): Promise<void> {
  const net = await startLocalInternet();
  const state = mkdtempSync(join(tmpdir(), 'paddock-bench-net-'));
  const ws = mkdtempSync(join(tmpdir(), 'paddock-bench-ws-'));
  const env = { ...process.env, PADDOCK_EGRESS_NETWORK: net.network, PADDOCK_NETWORK_DIR: state };
  let sandbox = '';
  const direct = `paddock-bench-direct-${process.pid}`;
  try {
    mkdirSync(join(ws, '.paddock'));
    writeFileSync(join(ws, '.paddock', 'policy.yaml'), `network:\n  policy: deny\n  allow: [allowed.test, "${net.a}"]\n`);
    if (process.getuid?.() === 0) for (const p of [ws, join(ws, '.paddock'), join(ws, '.paddock', 'policy.yaml')]) chownSync(p, 1000, 1000);
    // A key on the "host" whose provider is the local web server: the injecting path is measured too.
    sandbox = must(process.execPath, [CLI, 'create', 'shell', ws], { ...env, ANTHROPIC_API_KEY: 'sk-ant-bench-key-0123456789', ANTHROPIC_BASE_URL: 'http://allowed.test' });
    // The raw side: a plain container of the same image on the same network, no proxy.
    must('docker', ['run', '-d', '--name', direct, '--network', net.network, net.image, 'sleep', 'infinity']);

    console.log(`Egress proxy vs direct, ${ROUNDS} rounds of ${N} sequential curls each (medians per request)\n`);
    for (const [label, path] of [['small response (~30 B)', '/'], ['1 MiB response', '/big/1048576'], ['16 MiB response', '/big/16777216']] as const) {
      const viaProxy: number[] = [];
      const raw: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        viaProxy.push(Number(must(process.execPath, [CLI, 'exec', sandbox, '--', 'sh', '-c', loop(`http://allowed.test${path}`, true)], env)) / N);
        raw.push(Number(must('docker', ['exec', direct, 'sh', '-c', loop(`http://allowed.test${path}`, false)])) / N);
      }
      const p = median(viaProxy);
      const d = median(raw);
      console.log(`${label.padEnd(26)} proxy ${p.toFixed(2).padStart(8)} ms   direct ${d.toFixed(2).padStart(8)} ms   ratio ${(p / d).toFixed(2)}×`);
    }
    const tls: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      writeFileSync(join(ws, 'bench-ca.crt'), net.cert);
      tls.push(Number(must(process.execPath, [CLI, 'exec', sandbox, '--', 'sh', '-c', loop('--cacert bench-ca.crt https://allowed.test/', true)], env)) / N);
    }
    const tlsDirect: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      must('docker', ['cp', join(ws, 'bench-ca.crt'), `${direct}:/tmp/bench-ca.crt`]);
      tlsDirect.push(Number(must('docker', ['exec', direct, 'sh', '-c', loop('--cacert /tmp/bench-ca.crt https://allowed.test/', false)])) / N);
    }
    for (const [label, path] of [['key injection, small', '/'], ['key injection, 1 MiB', '/big/1048576']] as const) {
      const injected: number[] = [];
      const raw: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        injected.push(Number(must(process.execPath, [CLI, 'exec', sandbox, '--', 'sh', '-c', loop(`"$ANTHROPIC_BASE_URL${path}"`, false)], env)) / N);
        raw.push(Number(must('docker', ['exec', direct, 'sh', '-c', loop(`http://allowed.test${path}`, false)])) / N);
      }
      const p = median(injected);
      const d = median(raw);
      console.log(`${label.padEnd(26)} proxy ${p.toFixed(2).padStart(8)} ms   direct ${d.toFixed(2).padStart(8)} ms   ratio ${(p / d).toFixed(2)}×`);
    }
    console.log(`${'HTTPS (CONNECT tunnel)'.padEnd(26)} proxy ${median(tls).toFixed(2).padStart(8)} ms   direct ${median(tlsDirect).toFixed(2).padStart(8)} ms   ratio ${(median(tls) / median(tlsDirect)).toFixed(2)}×`);
  } finally {
    spawnSync('docker', ['rm', '-f', direct]);
    if (sandbox) spawnSync(process.execPath, [CLI, 'rm', sandbox], { env });
    net.stop();
    rmSync(ws, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
