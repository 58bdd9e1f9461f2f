// Bundles the CLI and the extension into dist/ (one file each; `vscode` stays external).
import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

// The CLI's chunks have content hashes in their names, so each build starts from an empty folder
// (or a packaged .vsix would carry every old chunk). It is built next to dist/cli and swapped in
// when complete: a CLI that runs during a build (a terminal, the editor) never sees a half-made one.
const cliOut = `dist/cli.building-${process.pid}`;
rmSync(cliOut, { recursive: true, force: true });

// zod's `z` namespace re-exports its 40-odd locales (half of zod in a bundle, 368 KB the CLI parses
// at every engine command); Paddock's messages are English, and nothing reads z.locales: only `en`.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]v4[\\/]\w+[\\/]\w+\.js$/.test(args.importer)
      ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-english-only' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({ contents: "export { default as en } from './en.js';", resolveDir: dirname(args.path), loader: 'js' }));
  },
};

const common = { bundle: true, plugins: [zodEnglishOnly], platform: 'node', mainFields: ['module', 'main'], target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning',
  external: [],
  // jsonc-parser's UMD build loads its parts with a dynamic require that bundles cannot follow.
  alias: {
    'jsonc-parser': 'jsonc-parser/lib/esm/main.js',
    // never called by Paddock; see build/unavailable.js
    'ssh2': './build/unavailable.js', '@grpc/grpc-js': './build/unavailable.js', '@grpc/proto-loader': './build/unavailable.js', 'protobufjs': './build/unavailable.js',
  } };

// Node's builtins whose ES module form costs a start-up: importing one as ES module reads every
// export, lazy ones too, so `node:http` loads Node's fetch (undici) and HTTP/2 (Node 22+), and
// `node:crypto` its Web Crypto. The CLI gets them through require, which reads only what it uses.
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(http|https|crypto)$/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-via-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-via-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// The CommonJS entries that start before anything else (exec's fast path, a warm run's early check)
// load node:crypto only when a hash is made: it is 36 of Node's modules (8-11 ms of CPU at load 5-8),
// and these entries hash only for a Docker context other than the default one, and for names.
// Every export is a getter that requires the real module on first use.
const lazyCrypto = {
  name: 'lazy-crypto',
  setup(b) {
    const keys = Object.keys(require('node:crypto'));
    b.onResolve({ filter: /^(node:)?crypto$/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'lazy-crypto' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-crypto' }, () => ({
      contents: `let real;\nfor (const key of ${JSON.stringify(keys)}) Object.defineProperty(exports, key, { enumerable: true, get: () => (real ??= require('node:crypto'))[key] });`,
      loader: 'js',
    }));
  },
};

await Promise.all([
  // The CLI as ES modules split at its dynamic imports: a command loads only what it uses (no MCP SDK
  // for `exec`). Two entries: main (every command) and exec (the lifecycle commands alone; bin/paddock
  // picks it for `paddock exec`); `paddock --version` is version.cjs below. Bundled CommonJS packages
  // still call require and read __dirname, so each chunk defines them.
  build({
    ...common, entryPoints: { main: 'src/cli/main.ts', exec: 'src/cli/main-exec.ts' }, outdir: cliOut, format: 'esm', splitting: true, chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' }, plugins: [builtinsViaRequire, zodEnglishOnly],
    banner: { js: "import { createRequire as __paddockRequire } from 'node:module'; import { fileURLToPath as __paddockPath } from 'node:url'; import { dirname as __paddockDir } from 'node:path'; const require = __paddockRequire(import.meta.url); const __filename = __paddockPath(import.meta.url); const __dirname = __paddockDir(__filename);" },
  }),
  // `paddock exec`'s fast path (src/cli/execFast.ts): one small CommonJS file that bin/paddock requires
  // before anything else (no ES module loader, no command table). It never reaches dockerode (its
  // engine calls are EngineHttp's; a TLS engine is left to the whole exec), so dockerode is left out.
  build({
    ...common, entryPoints: ['src/cli/execFast.ts'], outfile: `${cliOut}/exec-fast.cjs`, sourcemap: false, plugins: [lazyCrypto, zodEnglishOnly],
    alias: { ...common.alias, dockerode: './build/unavailable.js' },
  }),
  // `paddock --version`: the version alone, required by bin/paddock (no ES module loader: 15-30 ms
  // of CPU less than an .mjs entry and its chunks, measured under load).
  build({ ...common, entryPoints: ['src/core/version.ts'], outfile: `${cliOut}/version.cjs`, sourcemap: false }),
  // A warm `paddock run`'s check, started before the rest loads (src/cli/runEarly.ts): the same lean
  // client, and the helper's code; bin/paddock requires it for `run` command lines only.
  build({
    ...common, entryPoints: ['src/cli/runEarly.ts'], outfile: `${cliOut}/run-early.cjs`, sourcemap: false, plugins: [lazyCrypto, zodEnglishOnly],
    alias: { ...common.alias, dockerode: './build/unavailable.js' },
  }),
  // Minified: the editor parses the whole bundle when it activates the extension.
  // Two files: the light activation part, and the engine half it loads right after activation
  // (src/vscode/services.ts), so that the editor parses ~30 KB, not megabytes, while activating.
  build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: [...common.external, 'vscode', './vscode/services.js'], minify: true, keepNames: true }),
  build({ ...common, entryPoints: ['src/vscode/services.ts'], outfile: 'dist/vscode/services.js', external: [...common.external, 'vscode'], minify: true, keepNames: true }),
  // The stdio shim that runs inside sandboxes: one file, for node 18+ (the base image has Debian's 18 when built without the npm registry).
  build({ ...common, entryPoints: ['src/bridge/shim.ts'], outfile: 'dist/paddock-mcp.js', target: 'node18', sourcemap: false, minify: true, banner: { js: '#!/usr/bin/env node' } }),
  // The egress proxy, run by the base image's node in each sandbox's proxy container.
  build({ ...common, entryPoints: ['src/proxy/main.ts'], outfile: 'dist/paddock-egress.js', target: 'node18', sourcemap: false, minify: true }),
  // In a sandbox without a network (gVisor --network=none): its loopback ports to the proxy's sockets.
  build({ ...common, entryPoints: ['src/proxy/netfwd.ts'], outfile: 'dist/paddock-netfwd.js', target: 'node18', sourcemap: false, minify: true }),
  // The policy editor's webview page (a browser bundle; media/ ships in the .vsix).
  build({ entryPoints: ['media/policy-editor/src/main.ts'], outfile: 'media/policy-editor/out/main.js', bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, sourcemap: false, logLevel: 'warning' }),
]);

// A CLI process that was running when this build swapped (a terminal, a test) still loads the
// chunks of its own build lazily: the previous build's recent chunks are carried over (their names
// are content hashes, so nothing of the new build is shadowed). Packaging starts clean.
const carryChunks = process.env.npm_lifecycle_event !== 'vscode:prepublish';
if (carryChunks && existsSync('dist/cli/chunks')) {
  const recent = Date.now() - 60 * 60_000;
  for (const name of readdirSync('dist/cli/chunks')) {
    const from = `dist/cli/chunks/${name}`;
    const to = `${cliOut}/chunks/${name}`;
    try {
      const st = statSync(from);
      if (existsSync(to) || st.mtimeMs < recent) continue;
      copyFileSync(from, to);
      utimesSync(to, st.atime, st.mtime); // its age is its build's, so it leaves after the hour
    } catch { /* removed by a build running at the same time */ }
  }
}

// Swap the finished CLI in: two renames, so the old one is whole until the new one is in place
// (retried when a build running at the same time swapped its own in between).
const old = `dist/cli.old-${process.pid}`;
for (let attempt = 0; ; attempt++) {
  try {
    renameSync('dist/cli', old);
  } catch (err) {
    if (err?.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(cliOut, 'dist/cli');
    break;
  } catch (err) {
    if (attempt > 5 || !['ENOTEMPTY', 'EEXIST'].includes(err?.code)) throw err;
    rmSync(old, { recursive: true, force: true });
  }
}
rmSync(old, { recursive: true, force: true });
