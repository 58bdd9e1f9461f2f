// Layering rule: only the UI layer (src/vscode/) and the composition root may import `vscode`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'media/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/unit/**/*.ts', 'test/integration/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/vscode/**', 'src/extension.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/vscode/ may import vscode; keep core, engine, bridge and cli editor-free.' }] }],
    },
  },
  { rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
  // Plain Node scripts that tests run inside containers.
  { files: ['test/**/fixtures/**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
