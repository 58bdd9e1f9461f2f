// Composition root of the VS Code extension (see src/vscode/). Filled in by the editor issue.
export function activate(): void {}
export function deactivate(): void {}
