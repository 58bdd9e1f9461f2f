import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder that holds templates/ (the repository, or the installed extension). */
export function assetRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'templates', 'base', 'Dockerfile'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`Paddock's templates/ folder was not found above ${__dirname}; the installation is incomplete.`);
}

/** Paddock's agent templates; PADDOCK_TEMPLATES_DIR points at a customised copy of the folder. */
export function templatesDir(): string {
  return process.env.PADDOCK_TEMPLATES_DIR || join(assetRoot(), 'templates');
}

/** The script every sandbox runs as its main process (see templates/base/paddock-init). */
export function initScript(): string {
  return readFileSync(join(templatesDir(), 'base', 'paddock-init'), 'utf8');
}
