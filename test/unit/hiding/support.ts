// Temporary workspaces for the hiding and drift unit tests: real files, symlinks and hard links.
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Tree {
  /** path → content */
  readonly files?: Record<string, string>;
  readonly dirs?: readonly string[];
  /** link path → target (as written in the link) */
  readonly symlinks?: Record<string, string>;
  /** new name → existing file */
  readonly hardlinks?: Record<string, string>;
}

const made: string[] = [];

export function tree(spec: Tree): string {
  const root = mkdtempSync(join(tmpdir(), 'paddock-unit-'));
  made.push(root);
  for (const d of spec.dirs ?? []) mkdirSync(join(root, d), { recursive: true });
  for (const [p, content] of Object.entries(spec.files ?? {})) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), content);
  }
  for (const [p, target] of Object.entries(spec.symlinks ?? {})) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    symlinkSync(target, join(root, p));
  }
  for (const [p, existing] of Object.entries(spec.hardlinks ?? {})) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    linkSync(join(root, existing), join(root, p));
  }
  return root;
}

export function removeTrees(): void {
  for (const r of made.splice(0)) rmSync(r, { recursive: true, force: true });
}
