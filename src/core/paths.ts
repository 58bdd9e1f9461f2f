import { relative, sep } from 'node:path';

/** Whether `path` is `folder` or lies below it (by path segments, so /a/bc is not inside /a/b). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!!rel && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}
