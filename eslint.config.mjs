// Layering rules: imports point one way, core <- proxy <- engine <- bridge <- cli / vscode (and the
// composition root, src/extension.ts). Only the UI layer (src/vscode/) and the composition root may
// import `vscode` or src/vscode/; the webviews (media/) take types only from the host's code.
import tseslint from 'typescript-eslint';

const SRC_FOLDERS = ['core', 'proxy', 'engine', 'bridge', 'cli', 'vscode'];
const VSCODE = { name: 'vscode', message: 'Only src/vscode/ may import vscode; keep core, engine, bridge and cli editor-free.' };

/** Matches a relative import of one of `folders` of src/ (or of src/extension.ts) from anywhere below src/. */
function folderImport(folders, slash = '/') {
  return `^(\\.\\.${slash})+((${folders.join('|')})(${slash}|$)|extension(\\.js)?$)`;
}

/** A folder of src/ that must not import the `forbidden` ones (statically or with import()), nor `vscode` unless it is the UI. */
function layer(folder, forbidden, why, moreSyntax = []) {
  const message = `src/${folder}/ must not import src/${forbidden.join('/, src/')}/ or src/extension.ts: ${why}`;
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: folder === 'vscode' ? [] : [VSCODE], patterns: [{ regex: folderImport(forbidden), message }] }],
      // esquery's regular expressions cannot hold "/": \x2F stands for it.
      'no-restricted-syntax': ['error', { selector: `ImportExpression > Literal.source[value=/${folderImport(forbidden, '\\x2F')}/]`, message }, ...moreSyntax],
    },
  };
}

/** Notifications make "[x](command:…)" in their text a link; src/vscode/notify.ts makes names the sandbox chose inert. */
const NOTIFY = {
  selector: "MemberExpression[object.property.name='window'][property.name=/^(show(Information|Warning|Error)Message|withProgress)$/]",
  message: 'Use showInformationMessage/showWarningMessage/showErrorMessage/withProgress of src/vscode/notify.ts: a notification runs the command of a "[x](command:…)" link in its text.',
};

const above = (folder) => SRC_FOLDERS.slice(SRC_FOLDERS.indexOf(folder) + 1);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'media/**/out/**', 'media/walkthrough/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['test/unit/**/*.ts', 'test/integration/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [VSCODE] }] },
  },
  layer('core', above('core'), 'core is pure logic that imports nothing of the project.'),
  layer('proxy', above('proxy'), 'the proxy runs inside its container and takes only src/core/ with it.'),
  layer('engine', above('engine'), 'the engine serves the bridge, the CLI and the UI, never the other way round.'),
  layer('bridge', above('bridge'), 'the bridge is hosted by the CLI and the UI.'),
  layer('cli', ['vscode'], 'nothing but the UI imports src/vscode/.'),
  layer('vscode', ['cli'], 'the UI asks the engine and the bridge, not the CLI.', [NOTIFY]),
  { files: ['src/vscode/notify.ts'], rules: { 'no-restricted-syntax': 'off' } },
  // The webviews run in the editor's browser: from the host's code they take the message protocol's
  // and models' types only (erased when bundled), never code.
  {
    files: ['media/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+src/', allowTypeImports: true, message: 'A webview imports types only from src/ (use "import type"): host code does not run in the editor\'s browser page.' }] }],
      'no-restricted-syntax': ['error', { selector: 'ImportExpression > Literal.source[value=/^(\\.\\.\\x2F)+src\\x2F/]', message: 'A webview loads no code from src/.' }],
    },
  },
  { rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
  // Plain Node scripts that tests run inside containers.
  { files: ['test/**/fixtures/**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
