/**
 * Editor backups, swap files and merge leftovers of a hidden name carry the same secret: `.env~`,
 * `.env.swp`, `#.env#`, `.env.bak`, `id_rsa.orig`, a `secrets.bak/` copy of a hidden folder. A
 * positive hide rule hides a path when the path, with one such form undone on one of its names,
 * is a path the rule hides; so the default list and the user's own rules are covered alike.
 * "!" exceptions do not undo forms: `.env.example~` is a different file whose content nobody vouched
 * for (an older `.env.example` may have held real values), so it stays hidden wherever a rule hides
 * it (`**\/.env.*` does).
 */

/** Appended to the name: backups (emacs, vim, nano, JetBrains, cp), merge and package-manager leftovers. Compared without case. */
export const BACKUP_SUFFIXES = [
  '~', '.bak', '.backup', '.bk', '.old', '.orig', '.rej', '.save', '.sav', '.tmp',
  '.dpkg-old', '.dpkg-dist', '.dpkg-new', '.rpmsave', '.rpmnew', '___jb_tmp___', '___jb_old___',
] as const;

/** vim's swap files: ".swp", then ".swo", ".swn"... down to ".swa" while older ones exist, and ".swx" (its write test). */
const VIM_SWAP = /\.sw[a-px]$/i;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One cheap test first: most names end in none of the forms. */
const MAYBE_BACKUP = new RegExp(`(?:${BACKUP_SUFFIXES.map(escape).join('|')}|#|${VIM_SWAP.source.slice(0, -1)})$|^\\.#`, 'i');

/**
 * The names `name` may be a backup form of (empty for most names): `B~`, `B.bak`, ..., emacs's
 * numbered `B.~3~`, vim's `B.swp` and, for B without a leading dot, `.B.swp`, emacs's `#B#` and `.#B`.
 */
export function backupBases(name: string): string[] {
  if (!MAYBE_BACKUP.test(name)) return [];
  const bases: string[] = [];
  const lower = name.toLowerCase();
  for (const suffix of BACKUP_SUFFIXES) if (lower.endsWith(suffix.toLowerCase()) && name.length > suffix.length) bases.push(name.slice(0, -suffix.length));
  if (name.endsWith('~')) {
    for (let at = name.indexOf('.~'); at > 0 && at < name.length - 2; at = name.indexOf('.~', at + 1)) bases.push(name.slice(0, at));
  }
  const swap = VIM_SWAP.exec(name);
  if (swap && swap.index > 0) {
    bases.push(name.slice(0, swap.index));
    if (name.startsWith('.') && swap.index > 1 && name[1] !== '.') bases.push(name.slice(1, swap.index));
  }
  if (name.length > 2 && name.startsWith('#') && name.endsWith('#')) bases.push(name.slice(1, -1));
  if (name.length > 2 && name.startsWith('.#')) bases.push(name.slice(2));
  return bases;
}

/**
 * The paths `rel` ('/'-separated) stands in for as a backup: each name along it undone once, with
 * what follows that name dropped (a copy of a hidden folder hides what is in it).
 */
export function backupOrigins(rel: string): string[] {
  const origins: string[] = [];
  let start = 0;
  for (;;) {
    const slash = rel.indexOf('/', start);
    const name = slash < 0 ? rel.slice(start) : rel.slice(start, slash);
    for (const base of backupBases(name)) origins.push(rel.slice(0, start) + base);
    if (slash < 0) return origins;
    start = slash + 1;
  }
}

/** `[bB][aA][kK]`: a glob piece that matches text in any case (suffixes are compared without case). */
const anyCase = (text: string) => text.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).replace(/([~#])/g, '\\$1');

/**
 * A glob for `pattern` that also matches each backup form of the name it ends in (`**\/.env` →
 * `.env~`, `#.env#`, `.env.swp`...; `**\/secrets/**` → a `secrets.bak/` copy too): where a hide
 * rule's backups are found by undoing forms (backupOrigins), glob engines that only match (the
 * bridge's blocked paths, inside its physical view) get them spelled out as one extglob.
 */
export function globWithBackupForms(pattern: string): string {
  const tail = /\/\*\*$/.test(pattern) ? '/**' : '';
  const body = tail ? pattern.slice(0, -3) : pattern;
  const cut = body.lastIndexOf('/') + 1;
  const name = body.slice(cut);
  // Only a plain name (globs inside are fine) can carry forms: not "**", not an extglob or brace.
  if (!name || /^\*+$/.test(name) || /[()|{}]/.test(name)) return pattern;
  const forms = [name, ...BACKUP_SUFFIXES.map((x) => name + anyCase(x)), `${name}.\\~*\\~`, `${name}.[sS][wW][a-pxA-PX]`, `\\#${name}\\#`, `.\\#${name}`];
  if (!name.startsWith('.')) forms.push(`.${name}.[sS][wW][a-pxA-PX]`);
  forms.push(`${name}-`); // shadow-utils' and vipw's backups: /etc/shadow-, /etc/gshadow-
  return `${body.slice(0, cut)}@(${forms.join('|')})${tail}`;
}
