// Bundles the CLI and the extension into dist/ (one file each; `vscode` stays external).
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning',
  // optional native helpers of ssh2 (used only for ssh:// engines) are loaded lazily
  external: ['cpu-features', './crypto/build/Release/sshcrypto.node'] };

await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
  build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: [...common.external, 'vscode'] }),
]);
