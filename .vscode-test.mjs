// Extension-host tests (test/vscode/) for contributors with VS Code desktop: `npm run test:vscode`.
// They need @vscode/test-electron to download VS Code, which these build machines cannot; here
// the same behaviour is covered end to end in code-server + Chromium (test/e2e/).
import { defineConfig } from '@vscode/test-cli';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A throwaway copy of the demo workspace: tests create sandboxes for it and never touch the repository.
const workspace = mkdtempSync(join(tmpdir(), 'paddock-vscode-test-'));
cpSync('examples/demo', workspace, { recursive: true });

export default defineConfig({
  files: 'test/vscode/**/*.test.ts',
  workspaceFolder: workspace,
  mocha: { ui: 'bdd', timeout: 600_000, require: ['tsx/cjs'] },
});
