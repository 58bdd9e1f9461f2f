// Secret discovery on a generated 100,000-file workspace, against ripgrep on the same tree.
// Prints times and ratios (target: the mount plan within 2x of `rg --files`); asserts nothing.
//   node --import tsx bench/discovery.bench.ts [FILES]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeWorkspace, analyzeWorkspaceAsync } from '../src/core/drift/analyze.js';
import { planMounts } from '../src/core/hiding.js';
import { defaultPolicy } from '../src/core/policy.js';

const TOTAL = Number(process.argv[2] ?? 100_000);
const RUNS = 5;

function generate(root: string): { secrets: number } {
  const body = 'export function f(x) {\n  return x + 1; // ordinary code, nothing secret here\n}\n'.repeat(3);
  const key = ['-----BEGIN ', 'RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n'].join('');
  let files = 0;
  let secrets = 0;
  const write = (p: string, content: string) => { writeFileSync(join(root, p), content); files++; };
  mkdirSync(join(root, '.git/hooks'), { recursive: true });
  // 100 files per folder, three levels deep, 10% of them under node_modules.
  for (let a = 0; files < TOTAL; a++) {
    for (let b = 0; b < 10 && files < TOTAL; b++) {
      for (let c = 0; c < 10 && files < TOTAL; c++) {
        const dir = `${a % 10 === 0 ? 'node_modules/' : 'src/'}m${a}/p${b}/c${c}`;
        mkdirSync(join(root, dir), { recursive: true });
        for (let f = 0; f < 100 && files < TOTAL; f++) {
          if (f === 0 && c === 0) { write(`${dir}/.env`, 'TOKEN=abc\n'); secrets++; continue; }
          if (f === 1 && c === 5 && b % 3 === 0) { write(`${dir}/deploy.pem`, key); secrets++; continue; }
          if (f === 2 && c === 7 && b % 4 === 0 && a % 10 !== 0) { write(`${dir}/config.js`, `module.exports = { password: "hT9#kLq2vX${a}${b}" };\n`); secrets++; continue; }
          write(`${dir}/file${f}.${['ts', 'js', 'json', 'md'][f % 4]}`, body);
        }
      }
    }
  }
  return { secrets };
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(fn: () => void): number {
  fn(); // warm the page cache and the JIT alike
  const times = Array.from({ length: RUNS }, () => time(fn)).sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)];
}

async function medianAsync(fn: () => Promise<void>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

function rg(args: string[], cwd: string): () => void {
  return () => {
    const r = spawnSync('rg', args, { cwd, stdio: ['ignore', 'ignore', 'ignore'] });
    if (r.error) throw new Error('ripgrep is missing: apt-get install ripgrep');
  };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'paddock-bench-'));
  try {
    const t0 = Date.now();
    const { secrets } = generate(root);
    console.log(`Generated ${TOTAL} files (${secrets} secret-like) in ${((Date.now() - t0) / 1000).toFixed(1)} s under ${root}`);
    const policy = defaultPolicy();
    let hidden = 0;
    let found = 0;
    const rgAll = median(rg(['--files', '--hidden', '--no-ignore'], root));
    const rgFiles = median(rg(['--files'], root));
    const plan = median(() => { hidden = planMounts(root, policy).hidden.length; });
    const rgContent = median(rg(['-l', '--hidden', '--no-ignore', '-e', 'PRIVATE KEY|AKIA|password|secret|token|sk-', '.'], root));
    const full = median(() => { found = analyzeWorkspace(root, { scanContent: true }).secrets.length; });
    const fullAsync = await medianAsync(async () => { found = (await analyzeWorkspaceAsync(root, { scanContent: true })).secrets.length; });
    const row = (label: string, ms: number, base: number, baseLabel: string) =>
      console.log(`${label.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms   ${(ms / base).toFixed(2)}x ${baseLabel}`);
    console.log(`\nmedian of ${RUNS} runs, warm cache`);
    row('rg --files --hidden --no-ignore', rgAll, rgAll, 'of itself');
    row('rg --files (skips hidden and ignored files)', rgFiles, rgAll, 'of rg --files --hidden --no-ignore');
    row(`mount plan: walk + hide globs (${hidden} hidden)`, plan, rgAll, 'of rg --files --hidden --no-ignore (target <= 2x)');
    row('  same, against plain rg --files', plan, rgFiles, 'of rg --files');
    row('rg -l (content search, all files)', rgContent, rgContent, 'of itself');
    row(`full discovery: plan + drift + content (${found} found)`, full, rgContent, 'of rg -l content search');
    row('  same, in 10 ms slices (analyzeWorkspaceAsync)', fullAsync, rgContent, 'of rg -l content search');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
