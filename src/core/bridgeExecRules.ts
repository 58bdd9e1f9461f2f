import { globWithBackupForms } from './backupForms.js';
import { posix } from 'node:path';
import picomatch from 'picomatch';
import type { Tier } from './policy.js';

/**
 * Commands the bridge runs in other containers: argv splitting (like a shell, never through one),
 * whitelist matching, tiers, and blocked-path checks on every argument.
 */

export class CommandSyntaxError extends Error {}

/** Characters a shell would treat as syntax. No shell ever runs, so they would only mislead. */
const METACHARACTERS = new Set([';', '&', '|', '<', '>', '(', ')', '$', '`', '\n', '\r']);

/**
 * Splits a command string into words as POSIX sh would (quotes, backslashes), but rejects
 * unquoted shell syntax (; & | < > ( ) $ ` and newlines) instead of interpreting it.
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < command.length) {
    const c = command[i];
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError('unterminated single quote');
      word += command.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= command.length) throw new CommandSyntaxError('unterminated double quote');
        const d = command[i];
        if (d === '"') { i++; break; }
        if (d === '$' || d === '`') throw new CommandSyntaxError(`"${d}" inside double quotes would be expanded by a shell; no shell runs here, so it is refused`);
        if (d === '\\' && i + 1 < command.length && '"\\$`\n'.includes(command[i + 1])) {
          if (command[i + 1] !== '\n') word += command[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= command.length) throw new CommandSyntaxError('trailing backslash');
      if (command[i + 1] !== '\n') word += command[i + 1];
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (METACHARACTERS.has(c)) {
      throw new CommandSyntaxError(`shell syntax "${c === '\n' ? '\\n' : c}" is not allowed (commands run as an argv, never through a shell)`);
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** A whitelist entry: exact argv, or an argv prefix when the entry ends in ` *`. */
export interface WhitelistEntry {
  readonly text: string;
  readonly argv: readonly string[];
  readonly prefix: boolean;
}

export function parseWhitelistEntry(text: string): WhitelistEntry {
  const trimmed = text.trim();
  const prefix = /(^|\s)\*$/.test(trimmed);
  const argv = splitCommand(prefix ? trimmed.slice(0, -1) : trimmed);
  return { text, argv, prefix };
}

export function matchesEntry(argv: readonly string[], entry: WhitelistEntry): boolean {
  if (!entry.argv.length) return false;
  if (entry.prefix ? argv.length < entry.argv.length : argv.length !== entry.argv.length) return false;
  return entry.argv.every((w, i) => argv[i] === w);
}

/**
 * How a wrapper's command line reads, so the program it runs is found behind its options:
 * `valued` options take a value (the next word, `--opt=value`, or the rest of a short cluster),
 * `flags` take none, and `positionals` words come before the program (timeout's duration, chroot's
 * root, gosu's user). An option in neither list leaves the program unknown: the line is refused
 * (`timeout -s KILL 5 sh` once read "KILL" as the program and let the shell through).
 */
interface WrapperSyntax {
  readonly valued?: readonly string[];
  readonly flags?: readonly string[];
  readonly positionals?: number;
}

const SETARCH_FLAGS = ['-v', '--verbose', '-3', '--3gb', '-4', '--4gb', '-B', '--32bit', '-F', '--fdpic-funcptrs', '-I', '--short-inode', '-L', '--addr-compat-layout', '-R', '--addr-no-randomize', '-S', '--whole-seconds', '-T', '--sticky-timeouts', '-X', '--read-implies-exec', '-Z', '--mmap-page-zero', '--uname-2.6'];

/** Programs that run another program given as an argument: the deny list applies to that one too. */
const WRAPPERS: Readonly<Record<string, WrapperSyntax>> = {
  env: { valued: ['-u', '--unset', '-C', '--chdir'], flags: ['-', '-i', '--ignore-environment', '-0', '--null', '-v', '--debug', '--block-signal', '--default-signal', '--ignore-signal', '--list-signal-handling'] },
  nice: { valued: ['-n', '--adjustment'] },
  nohup: {},
  timeout: { valued: ['-s', '--signal', '-k', '--kill-after'], flags: ['--preserve-status', '--foreground', '-v', '--verbose'], positionals: 1 },
  stdbuf: { valued: ['-i', '--input', '-o', '--output', '-e', '--error'] },
  setsid: { flags: ['-c', '--ctty', '-f', '--fork', '-w', '--wait'] },
  chroot: { valued: ['--userspec', '--groups'], flags: ['--skip-chdir'], positionals: 1 },
  sudo: {
    valued: ['-u', '--user', '-g', '--group', '-C', '--close-from', '-D', '--chdir', '-h', '--host', '-p', '--prompt', '-R', '--chroot', '-r', '--role', '-t', '--type', '-T', '--command-timeout', '-U', '--other-user'],
    flags: ['-A', '--askpass', '-b', '--background', '-E', '--preserve-env', '-H', '--set-home', '-k', '--reset-timestamp', '-n', '--non-interactive', '-P', '--preserve-groups', '-S', '--stdin', '-B', '--bell', '-N', '--no-update'],
  },
  doas: { valued: ['-u', '-C'], flags: ['-n'] },
  time: { valued: ['-f', '--format'], flags: ['-a', '--append', '-p', '--portability', '-v', '--verbose', '-q', '--quiet'] },
  strace: { valued: ['-e', '-p', '-s', '-u', '-E', '-a', '-b', '-I', '-O', '-S', '-P', '-X', '-U'], flags: ['-f', '-c', '-C', '-d', '-D', '-F', '-i', '-k', '-q', '-r', '-t', '-T', '-v', '-w', '-x', '-y', '-z', '-Z', '-n'] },
  ionice: { valued: ['-c', '--class', '-n', '--classdata', '-p', '--pid', '-P', '--pgid', '-u', '--uid'], flags: ['-t', '--ignore'] },
  taskset: { flags: ['-a', '--all-tasks', '-c', '--cpu-list'], positionals: 1 },
  flock: { valued: ['-w', '--timeout', '--wait', '-E', '--conflict-exit-code'], flags: ['-s', '--shared', '-x', '-e', '--exclusive', '-u', '--unlock', '-n', '--nb', '--nonblock', '-o', '--close', '-F', '--no-fork', '--verbose'], positionals: 1 },
  exec: { valued: ['-a'], flags: ['-c', '-l'] },
  command: { flags: ['-p'] },
  builtin: {},
  chrt: { valued: ['-T', '--sched-runtime', '-P', '--sched-period', '-D', '--sched-deadline'], flags: ['-a', '--all-tasks', '-b', '--batch', '-d', '--deadline', '-e', '--ext', '-f', '--fifo', '-i', '--idle', '-o', '--other', '-r', '--rr', '-R', '--reset-on-fork', '-v', '--verbose'], positionals: 1 },
  numactl: { valued: ['-i', '--interleave', '-p', '--preferred', '-m', '--membind', '-N', '--cpunodebind', '-C', '--physcpubind'], flags: ['-a', '--all', '-l', '--localalloc'] },
  catchsegv: {},
  gosu: { positionals: 1 },
  'su-exec': { positionals: 1 },
  tini: { valued: ['-p', '-e'], flags: ['-s', '-v', '-w', '-g', '-l'] },
  'dumb-init': { valued: ['-r', '--rewrite'], flags: ['-c', '--single-child', '-v', '--verbose'] },
  setpriv: {
    valued: ['--reuid', '--regid', '--ruid', '--rgid', '--euid', '--egid', '--groups', '--inh-caps', '--ambient-caps', '--bounding-set', '--securebits', '--pdeathsig', '--selinux-label', '--apparmor-profile', '--landlock-access', '--landlock-rule'],
    flags: ['-d', '--dump', '--nnp', '--no-new-privs', '--clear-groups', '--keep-groups', '--init-groups', '--reset-env'],
  },
  unshare: {
    valued: ['-S', '--setuid', '-G', '--setgid', '-R', '--root', '-w', '--wd', '--propagation', '--map-user', '--map-group', '--map-users', '--map-groups'],
    flags: ['-m', '--mount', '-u', '--uts', '-i', '--ipc', '-n', '--net', '-p', '--pid', '-U', '--user', '-C', '--cgroup', '-T', '--time', '-f', '--fork', '-r', '--map-root-user', '-c', '--map-current-user', '--mount-proc', '--keep-caps', '--kill-child', '--map-auto'],
  },
  nsenter: {
    valued: ['-t', '--target', '-S', '--setuid', '-G', '--setgid'],
    flags: ['-a', '--all', '-m', '--mount', '-u', '--uts', '-i', '--ipc', '-n', '--net', '-p', '--pid', '-U', '--user', '-C', '--cgroup', '-T', '--time', '-r', '--root', '-w', '--wd', '--preserve-credentials', '-F', '--no-fork', '-Z', '--follow-context'],
  },
  prlimit: {
    valued: ['-p', '--pid', '-o', '--output'],
    // the resource options take an optional value, attached (`--nofile=64`; a short `-n64` is left unclear)
    flags: ['--noheadings', '--raw', '--verbose', ...['c', 'd', 'e', 'f', 'i', 'l', 'm', 'n', 'q', 'r', 's', 't', 'u', 'v', 'x', 'y'].map((l) => `-${l}`),
      '--core', '--data', '--nice', '--fsize', '--sigpending', '--memlock', '--rss', '--nofile', '--msgqueue', '--rtprio', '--stack', '--cpu', '--nproc', '--as', '--locks', '--rttime'],
  },
  setarch: { flags: SETARCH_FLAGS, positionals: 1 },
  linux32: { flags: SETARCH_FLAGS }, linux64: { flags: SETARCH_FLAGS }, i386: { flags: SETARCH_FLAGS }, x86_64: { flags: SETARCH_FLAGS },
  faketime: { positionals: 1 },
  // Wrappers whose lines are not read here: any option of theirs leaves the program unknown.
  busybox: {}, ltrace: {}, firejail: {}, xargs: {}, su: {}, runuser: {}, script: {}, unbuffer: {}, watch: {},
  'systemd-run': {}, cgexec: {}, fakeroot: {}, valgrind: {}, 'start-stop-daemon': {}, eatmydata: {}, nocache: {}, proxychains: {}, proxychains4: {}, torsocks: {}, chpst: {}, runcon: {}, cpulimit: {},
};

/** Options that make an otherwise harmless program run commands or write files (refused in every tier). */
const EXECUTING_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  find: ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls'],
  // the pager of grep -O, rebase --exec, difftool --extcmd, archive --exec, --output files, external diffs
  git: ['-c', '--exec-path', '--upload-pack', '--receive-pack', '--config-env', '-O', '--open-files-in-pager', '--exec', '-x', '--extcmd', '--output', '--ext-diff', '--remote'],
  tar: ['--to-command', '--use-compress-program', '-I', '--checkpoint-action', '--info-script', '--new-volume-script', '-F', '--rsh-command', '--rmt-command'],
  rsync: ['-e', '--rsh', '--rsync-path'],
  xargs: [],
  // GTFOBins-style escapes of programs a whitelist often allows: a compressor, pager, preprocessor,
  // hook or editor they start, an option file they read, or a file they write.
  sort: ['--compress-program', '-o', '--output'],
  less: ['-o', '-O', '--log-file', '--LOG-FILE'],
  man: ['-P', '--pager', '-H', '--html', '--browser'],
  zip: ['-T', '-TT', '--unzip-command', '--test'],
  rg: ['--pre', '--pre-glob'],
  fd: ['-x', '--exec', '-X', '--exec-batch'],
  fdfind: ['-x', '--exec', '-X', '--exec-batch'],
  ssh: ['-o', '-F', '-S', '-J', '-w'],
  scp: ['-S', '-o', '-F', '-J'],
  sftp: ['-S', '-o', '-F', '-J', '-b'],
  'apt-get': ['-o', '--option', '-c', '--config-file'],
  apt: ['-o', '--option', '-c', '--config-file'],
  dpkg: ['-i', '--install', '--unpack', '--configure', '--force-script-chrootless'],
  tcpdump: ['-z', '-w'],
  journalctl: ['--output-fields'],
  mail: ['--exec', '-E'],
  // wrappers that run a shell, write a file, or split one word into a command line
  env: ['-S', '--split-string'],
  sudo: ['-s', '--shell', '-i', '--login', '-e', '--edit'],
  doas: ['-s'],
  time: ['-o', '--output'],
  strace: ['-o', '--output'],
  ltrace: ['-o', '--output'],
  flock: ['-c', '--command'],
};
const EXECUTING_ALIASES: Readonly<Record<string, string>> = { bsdtar: 'tar' };

/**
 * Short options that take a value, per program: in a cluster (`-lroot`, `-Sfoo`) the rest of the
 * word after one of these is its value, not more options. Letters not listed are walked as options,
 * so a value the list misses errs towards refusing.
 */
const SHORT_VALUED: Readonly<Record<string, string>> = {
  // only letters that take a value in every git command that has them (rebase -m and grep -n are flags)
  git: 'CSeAB',
  tar: 'fCbFgHIKLNTVX',
  rsync: 'eBfMT',
  sort: 'kStTo',
  less: 'bhjkoOpPtTxyz#',
  man: 'CMPHSsepLmrER',
  zip: 'bnPtZsi',
  rg: 'ABCEefgjMmrTtd',
  fd: 'edtEcjSoxX',
  fdfind: 'edtEcjSoxX',
  ssh: 'BbcDEeFIiJLlmOoPpQRSWw',
  scp: 'cDFiJloPSX',
  sftp: 'BbcDFiJloPRSX',
  'apt-get': 'octa',
  apt: 'octa',
  tcpdump: 'cCEFGijMrsTVWyBZ',
  mail: 'sSbcraAqu',
};

/**
 * git's short options that take a value in one subcommand only (`git commit -mfix`: the rest of the
 * word is the message, not `-f -i -x`). Only commands whose every listed letter takes a value there.
 */
const GIT_SUBCOMMAND_VALUED: Readonly<Record<string, string>> = {
  commit: 'mFCct', tag: 'mFu', merge: 'mFsX', stash: 'm', notes: 'mFCc', revert: 'mX', 'cherry-pick': 'mX',
};
/** git's global options that take the next word as their value (`git -C dir commit`). */
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env', '--exec-path', '--list-cmds']);

/** The subcommand of a git command line (`args` after the program's name): the first word that is not a global option or its value. */
export function gitSubcommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('-')) return args[i];
    if (GIT_GLOBAL_VALUED.has(args[i])) i++;
  }
  return undefined;
}

/**
 * Long options whose exact name is harmless but a prefix of an executing one: getopt_long takes an
 * exact name before any abbreviation (`tar --checkpoint=10` is not `--checkpoint-action`).
 */
const HARMLESS_EXACT: Readonly<Record<string, readonly string[]>> = {
  tar: ['--checkpoint'],
  journalctl: ['--output'],
};

/**
 * The long options of `options` (`--name`) that a word (`--nam`, `--nam=value`) may stand for, the
 * way GNU getopt_long and git read it: the exact name, else every option the name is a prefix of
 * (from one letter after `--`). More than one means the program finds it ambiguous; callers that
 * must not miss an option take them all.
 */
export function longOptionsOf(word: string, options: readonly string[]): string[] {
  const name = word.split('=', 1)[0];
  if (!name.startsWith('--') || name.length < 3) return [];
  if (options.includes(name)) return [name];
  return options.filter((o) => o.startsWith('--') && o.startsWith(name));
}

/**
 * The executing option a word of `program` stands for, if any. GNU getopt_long and git's
 * parse-options take any unambiguous prefix of a long option (`--checkpoint-act=`,
 * `--use-compress-prog=`, `--upload-pa=`), so a long word is refused when it is a prefix of a
 * listed one (an ambiguous prefix fails in the program anyway). Short options are walked through
 * their cluster until a letter that takes a value (`-Icmd`, `-xcmd`, `-oProxyCommand=`, `-vo x`).
 */
function executingOption(program: string, word: string, risky: readonly string[], valuedHere = ''): boolean {
  if (risky.includes(word)) return true;
  if (word.startsWith('--')) {
    if (HARMLESS_EXACT[program]?.includes(word.split('=', 1)[0])) return false;
    return longOptionsOf(word, risky).length > 0;
  }
  if (!/^-[^-]/.test(word) || program === 'find') return false;
  const shorts = new Set(risky.filter((o) => /^-[^-]$/.test(o)).map((o) => o[1]));
  if (!shorts.size) return false;
  const valued = (SHORT_VALUED[program] ?? '') + valuedHere;
  for (let k = 1; k < word.length; k++) {
    const letter = word[k];
    if (shorts.has(letter)) return true;
    if (valued.includes(letter) || !/[A-Za-z0-9#]/.test(letter)) return false;
  }
  return false;
}

/**
 * tar's old-style first word (`tar cIf CMD out.tar dir`): a cluster of option letters without a
 * dash, whose values follow it in order. Returns the words as dashed options (`-c -I CMD -f out.tar dir`).
 */
export function expandTarOldStyle(args: readonly string[]): string[] {
  const words = [...args];
  if (!words[0] || words[0].startsWith('-')) return words;
  const cluster = words[0];
  const rest = words.slice(1);
  return [...[...cluster].flatMap((letter) => (SHORT_VALUED.tar.includes(letter) && rest.length ? [`-${letter}`, rest.shift()!] : [`-${letter}`])), ...rest];
}

/**
 * Package managers read their configuration from any `--name=value` word before `--`, abbreviated
 * or not (`npm run lint --node-options=--import=data:...`, `--script-shell=PROG`, `--userconfig`,
 * `--prefix`, `-C DIR`, `--call`): several of those settings run code. Their option words before
 * `--` are refused unless the whitelist entry names them, or they are in this short list of
 * settings that only change what is printed (an allow list: npm alone has ~150 settings, and the
 * ones that run code are not all documented as such).
 */
const TASK_RUNNERS = new Set(['npm', 'npx', 'yarn', 'yarnpkg', 'pnpm', 'pnpx', 'corepack']);
const TASK_RUNNER_SAFE_OPTIONS = new Set(['-v', '--version', '-h', '--help', '-s', '--silent', '-q', '--quiet', '--json', '--if-present', '--ignore-scripts', '--no-color', '--color=false', '-d', '--verbose', '--loglevel=silent', '--loglevel=error', '--loglevel=warn', '--loglevel=info', '--loglevel=verbose']);

/** The first option word of a package manager at `start` before `--` that the entry does not name (index < `named`). */
function taskRunnerOption(argv: readonly string[], start: number, named: number): string | undefined {
  for (let i = start + 1; i < argv.length && argv[i] !== '--'; i++) {
    if (i < named || !argv[i].startsWith('-') || TASK_RUNNER_SAFE_OPTIONS.has(argv[i])) continue;
    return argv[i];
  }
  return undefined;
}

/** Options like these in the middle of a word: `less +!cmd` runs cmd, `git grep -Ovi` is -O. */
const EXECUTING_PREFIXES: Readonly<Record<string, RegExp>> = {
  less: /^\+/, more: /^\+!/,
  git: /^-(O|-open-files-in-pager)/,
  // `env -iS'sh -c id'`, `sudo -Es`, `strace -fo/x`: the option inside a cluster of short ones
  env: /^-[^-]*S/, sudo: /^-[^-]*[sie]/, doas: /^-[^-]*s/, time: /^-[^-]*o/, strace: /^-[^-]*o/, ltrace: /^-[^-]*o/, flock: /^-[^-]*c/,
};

/**
 * Programs that run code given in their arguments: argument checks cannot see inside that code,
 * so the permissive tier refuses them (a moderate-tier whitelist entry can still allow one).
 */
export const INTERPRETERS = new Set(['sh', 'bash', 'zsh', 'dash', 'ash', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'awk', 'gawk', 'mawk', 'nawk', 'sed', 'ed', 'perl', 'python', 'python2', 'python3', 'ruby', 'node', 'nodejs', 'deno', 'bun', 'php', 'lua', 'tclsh', 'expect', 'vi', 'vim', 'nvim', 'emacs', 'xargs', 'parallel', 'eval', 'source', 'socat', 'nc', 'ncat', 'openssl', 'gdb', 'psql', 'mysql', 'sqlite3',
  // these run their arguments through a shell (or expect): `su -c`, `runuser USER -c`, `script -c`, `watch CMD`
  'su', 'runuser', 'script', 'unbuffer', 'watch', 'sg']);

/** The dynamic loader run as a program (`/lib64/ld-linux-x86-64.so.2 /bin/sh`) runs the program named in its arguments. */
export const isLoader = (program: string): boolean => /^(ld-linux.*\.so|ld\.so|ld-musl|ld64\.so|ld-[\w.-]*\.so)/.test(program);

/**
 * Variables a wrapper may set (`env NAME=value`, `sudo NAME=value`) without a whitelist entry that
 * names them. An allow list, not a deny list: the variables that make a program run something
 * (GIT_*, LD_*, *PAGER, EDITOR, NODE_OPTIONS, BASH_ENV, PYTHON*, PERL5*, RUBYOPT, npm_config_*,
 * HOME and XDG_* for the config files they point at, PATH, LESSOPEN, GCONV_PATH, TAR_OPTIONS ...)
 * are too many and too scattered for a list to be complete, while the ones a command line needs to
 * set are few: locale, time zone, terminal and colour, and the app's mode.
 */
const SAFE_ASSIGNMENTS = new Set(['LANG', 'LANGUAGE', 'TZ', 'TERM', 'COLUMNS', 'LINES', 'NO_COLOR', 'FORCE_COLOR', 'CLICOLOR', 'CLICOLOR_FORCE', 'CI', 'NODE_ENV', 'RAILS_ENV', 'RACK_ENV', 'APP_ENV', 'LOG_LEVEL', 'RUST_LOG', 'RUST_BACKTRACE', 'PYTHONUNBUFFERED', 'PYTHONDONTWRITEBYTECODE', 'PYTHONIOENCODING']);
const safeAssignment = (name: string) => SAFE_ASSIGNMENTS.has(name) || /^LC_[A-Z]+$/.test(name);

/** Where a short option cluster's value begins: `-s` + `KILL`, `-vsKILL`; 'unknown' for a letter the wrapper does not take. */
function shortCluster(word: string, syntax: WrapperSyntax): 'flags' | 'value-next' | 'value-attached' | 'unknown' {
  for (let k = 1; k < word.length; k++) {
    const option = `-${word[k]}`;
    if (syntax.valued?.includes(option)) return k === word.length - 1 ? 'value-next' : 'value-attached';
    if (!syntax.flags?.includes(option)) return 'unknown';
  }
  return 'flags';
}

/** Where the words after a wrapper at `i` lead: the index of the program it runs, or undefined when its line cannot be read. */
function programAfterWrapper(argv: readonly string[], i: number, syntax: WrapperSyntax, wrapper: string, assignments: number[]): number | undefined {
  let positionals = syntax.positionals ?? 0;
  let j = i + 1;
  let optionsEnd = false;
  while (j < argv.length) {
    const word = argv[j];
    if (!optionsEnd && word === '--') { optionsEnd = true; j++; continue; }
    if (!optionsEnd && word.startsWith('-') && word !== '-') {
      if (wrapper === 'nice' && /^-\d+$/.test(word)) { j++; continue; } // nice's old `-5`
      if (word.startsWith('--')) {
        const eq = word.indexOf('=');
        const name = eq > 0 ? word.slice(0, eq) : word;
        if (syntax.valued?.includes(name)) j += eq > 0 ? 1 : 2;
        else if (syntax.flags?.includes(name)) j++;
        else return undefined;
        continue;
      }
      const cluster = shortCluster(word, syntax);
      if (cluster === 'unknown') return undefined;
      j += cluster === 'value-next' ? 2 : 1;
      continue;
    }
    if (word === '-' && syntax.flags?.includes('-') && !optionsEnd) { j++; continue; }
    // env's (and sudo's) NAME=value assignments before the program
    if ((wrapper === 'env' || wrapper === 'sudo' || wrapper === 'doas') && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) { assignments.push(j); j++; continue; }
    if (positionals > 0) { positionals--; j++; continue; }
    return j;
  }
  return j;
}

/**
 * Where each program of an argv starts: argv[0], and what wrappers (env, timeout, sudo...) run.
 * `unclear` names the wrapper and word when a wrapper's options could not be read: then the program
 * it runs is unknown and the caller refuses (fail closed).
 */
function programStarts(argv: readonly string[]): { starts: number[]; unclear?: string; assignments: number[] } {
  const starts: number[] = [];
  const assignments: number[] = [];
  let i = 0;
  while (i < argv.length) {
    starts.push(i);
    const wrapper = posix.basename(argv[i]);
    const syntax = WRAPPERS[wrapper];
    if (!syntax) break;
    const next = programAfterWrapper(argv, i, syntax, wrapper, assignments);
    if (next === undefined) return { starts, assignments, unclear: `${wrapper} ${argv.slice(i + 1).find((w) => w.startsWith('-')) ?? ''}`.trim() };
    i = next;
  }
  return { starts, assignments };
}

/** The programs an argv runs: argv[0], and what wrappers (env, xargs, timeout...) run. */
export function programsOf(argv: readonly string[]): string[] {
  return programStarts(argv).starts.map((i) => posix.basename(argv[i]));
}

/** Where the program that does the work starts, behind any wrappers (`timeout 5 grep -r x` → 2). */
export function commandStart(argv: readonly string[]): number {
  return programStarts(argv).starts.at(-1) ?? 0;
}

export interface ExecDecision {
  readonly allowed: boolean;
  /** Which rule decided, e.g. "tier strict", "whitelist: npm test", "deny: rm", "blocked path: **\/.env". */
  readonly rule: string;
  /** For a denial: why, and what a human would change to allow it. */
  readonly reason?: string;
  readonly hint?: string;
  /** Allowed by a whitelist entry that names the whole argv (no trailing " *"). */
  readonly exact?: boolean;
}

export interface ExecRequest {
  readonly argv: readonly string[];
  readonly container: string;
  /** The container's working directory: relative arguments are resolved against it. */
  readonly workdir: string;
  readonly tier: Tier;
  /** Whitelist entries that apply to this container. */
  readonly whitelist: readonly string[];
  readonly deny: readonly string[];
  readonly blockedPaths: PathMatcher;
}

/** Decides whether an argv may run. Paths are checked as text here; the bridge also resolves symlinks. */
export function decideExec(request: ExecRequest): ExecDecision {
  const { argv } = request;
  if (!argv.length || !argv[0]) return { allowed: false, rule: 'empty command', reason: 'No command given.' };
  if (argv.some((a) => a.includes('\0'))) return { allowed: false, rule: 'nul byte', reason: 'Arguments may not contain NUL bytes.' };
  if (request.tier === 'strict') {
    return { allowed: false, rule: 'tier strict', reason: 'The strict tier allows no commands.', hint: 'Set "tier: moderate" and whitelist the command under bridge.exec in .paddock/policy.yaml.' };
  }
  let rule: string;
  let exact = false;
  let named = 0;
  const { starts, unclear, assignments } = programStarts(argv);
  const programs = starts.map((i) => posix.basename(argv[i]));
  if (request.tier === 'moderate') {
    // An exact entry before a prefix entry that also matches: it is the user's word for word (what a container without a physical view, or one that holds the host, runs).
    const matching = request.whitelist.map(parseWhitelistEntrySafe).filter((e): e is WhitelistEntry => !!e && matchesEntry(argv, e));
    const entry = matching.find((e) => !e.prefix) ?? matching[0];
    if (!entry) {
      return {
        allowed: false, rule: 'not whitelisted',
        reason: `"${argv.join(' ')}" is not in the whitelist of ${request.container}${request.whitelist.length ? ` (${request.whitelist.join(', ')})` : ''}.`,
        hint: `Add it under bridge.exec."${request.container}" in .paddock/policy.yaml (end an entry with " *" to allow more arguments).`,
      };
    }
    rule = `whitelist: ${entry.text}`;
    exact = !entry.prefix;
    named = entry.argv.length;
  } else {
    const denied = programs.find((p) => request.deny.includes(p));
    if (denied) {
      return { allowed: false, rule: `deny: ${denied}`, reason: `"${denied}" is in bridge.deny.`, hint: `Remove "${denied}" from bridge.deny in .paddock/policy.yaml if it must run.` };
    }
    const interpreter = programs.find((p) => INTERPRETERS.has(p) || isLoader(p));
    if (interpreter) {
      return { allowed: false, rule: `interpreter: ${interpreter}`, reason: `"${interpreter}" runs code given in its arguments, which the bridge cannot check.`, hint: `Use "tier: moderate" and whitelist the exact command under bridge.exec."${request.container}" in .paddock/policy.yaml.` };
    }
    rule = 'tier permissive';
  }
  for (const [n, program] of programs.entries()) {
    const name = EXECUTING_ALIASES[program] ?? program;
    // `git clone -u CMD` / `git ls-remote -u CMD` are --upload-pack (elsewhere -u is harmless: add -u, push -u)
    const risky = name === 'git' && argv.some((a) => a === 'clone' || a === 'ls-remote') ? [...EXECUTING_OPTIONS.git, '-u'] : EXECUTING_OPTIONS[name] ?? [];
    const prefix = EXECUTING_PREFIXES[name];
    // tar's old-style first word is a cluster of options without a dash: `tar cIf CMD out.tar dir`
    const words = name === 'tar' ? [...argv.slice(1, starts[n] + 1), ...expandTarOldStyle(argv.slice(starts[n] + 1))] : argv.slice(1);
    const subcommand = name === 'git' ? gitSubcommand(argv.slice(starts[n] + 1)) : undefined;
    const valuedHere = subcommand && Object.hasOwn(GIT_SUBCOMMAND_VALUED, subcommand) ? GIT_SUBCOMMAND_VALUED[subcommand] : '';
    const hit = words.find((a) => executingOption(name, a, risky, valuedHere) || (name === 'find' && /^-(exec|ok)/.test(a)) || prefix?.test(a));
    if (hit) {
      return { allowed: false, rule: `executing option: ${program} ${hit}`, reason: `"${program} ${hit}" runs other commands or writes files, which would bypass the bridge's checks.`, hint: 'This is refused in every tier; ask for the exact command you need instead.' };
    }
  }
  for (const [n, program] of programs.entries()) {
    if (!TASK_RUNNERS.has(program)) continue;
    const hit = taskRunnerOption(argv, starts[n], named);
    if (hit) {
      return {
        allowed: false, rule: `executing option: ${program} ${hit}`,
        reason: `${program} reads its configuration from option words before "--" ("${hit}"); some settings (--node-options, --script-shell, --userconfig, --prefix) run other code, which would bypass the bridge's checks.`,
        hint: `Pass the script's own arguments after "--" (${program} run lint -- --fix), or whitelist the exact command (without " *") under bridge.exec."${request.container}" in .paddock/policy.yaml.`,
      };
    }
  }
  // `env GIT_EXTERNAL_DIFF=CMD git diff`, `env LD_PRELOAD=...`, `sudo NODE_OPTIONS=...`: what git -c or
  // an executing option would do, set through the environment. Names the entry spells out are the user's.
  const assignment = assignments.find((i) => i >= named && !safeAssignment(argv[i].slice(0, argv[i].indexOf('='))));
  if (assignment !== undefined) {
    const name = argv[assignment].slice(0, argv[assignment].indexOf('='));
    return {
      allowed: false, rule: `environment: ${name}`,
      reason: `Setting "${name}" for the command can make it run other programs or read other configuration (GIT_*, LD_*, *PAGER, NODE_OPTIONS, BASH_ENV ...); only ${[...SAFE_ASSIGNMENTS].slice(0, 6).join(', ')}, LC_* and a few more are set without a whitelist entry.`,
      hint: request.tier === 'moderate'
        ? `Whitelist the command with the assignment spelled out (e.g. "env ${name}=... CMD *") under bridge.exec."${request.container}" in .paddock/policy.yaml, or set it in the container's environment.`
        : `Set it in the container's environment, or use "tier: moderate" and whitelist the command with the assignment spelled out under bridge.exec."${request.container}" in .paddock/policy.yaml.`,
    };
  }
  // A wrapper line that cannot be read hides the program it runs from the checks (deny list,
  // interpreters, executing options, the folder checks): refused unless the user whitelisted it whole.
  if (unclear && !exact) {
    return {
      allowed: false, rule: `unclear wrapper: ${unclear}`,
      reason: `The bridge cannot tell which program "${argv.join(' ')}" runs behind "${unclear}", so it cannot check it.`,
      hint: request.tier === 'moderate'
        ? `Whitelist the exact command (without " *") under bridge.exec."${request.container}" in .paddock/policy.yaml, or run it without the wrapper.`
        : `Run it without the wrapper, or use "tier: moderate" and whitelist the exact command under bridge.exec."${request.container}" in .paddock/policy.yaml.`,
    };
  }
  for (const arg of argv.slice(1)) {
    const hit = request.blockedPaths.checkArgument(arg, request.workdir);
    if (hit) {
      return { allowed: false, rule: `blocked path: ${hit.pattern}`, reason: `The argument "${arg}" refers to ${hit.path}, which matches the blocked path "${hit.pattern}".`, hint: 'Blocked paths are never readable through the bridge; change bridge.blockedPaths in .paddock/policy.yaml only if this is not a secret.' };
    }
  }
  return { allowed: true, rule, exact };
}

function parseWhitelistEntrySafe(text: string): WhitelistEntry | undefined {
  try {
    return parseWhitelistEntry(text);
  } catch {
    return undefined;
  }
}

/** Paths no policy can unblock: other processes' environment, memory, files and roots. */
export const ALWAYS_BLOCKED = ['/proc/**/environ', '/proc/*/mem', '/proc/*/fd/**', '/proc/*/root/**', '/proc/*/cwd/**', '/proc/*/map_files/**', '/proc/self/**', '/proc/thread-self/**', '/dev/fd/**', '/proc/kcore', '/dev/mem'];

const GLOB_CHARS = /[*?[\]{}]/;

export interface PathHit {
  readonly path: string;
  readonly pattern: string;
}

/**
 * Blocked-path patterns (`**` globs, dot files included) for paths inside a container. A pattern
 * that names a folder (`secrets/**`) blocks the folder itself too.
 */
export class PathMatcher {
  /**
   * Compiled on the first match, not when the bridge is built: picomatch's compile of the default
   * patterns and their backup forms (15-40 ms under load) was on a `paddock run`'s path between the
   * sandbox's "ready" and the agent's start. Every match goes through this getter, so no path is
   * ever answered before the patterns apply.
   */
  private compiled?: { pattern: string; test: (p: string) => boolean }[];
  /** Concrete names a blocked pattern can match: a glob argument that matches one is refused. */
  private readonly sampleNames: { pattern: string; name: string }[];

  /** The patterns as matched: each with the backup forms of the name it ends in (./backupForms.ts). */
  readonly globs: readonly string[];

  constructor(readonly patterns: readonly string[]) {
    this.globs = patterns.map(globWithBackupForms);
    this.sampleNames = patterns.flatMap((pattern) => {
      const segments = pattern.replace(/(\/\*\*)+$/, '').split('/').filter(Boolean);
      const last = segments[segments.length - 1];
      return last && !/^\*+$/.test(last) ? [{ pattern, name: last.replace(/\*+/g, 'x').replace(/\?/g, 'x') }] : [];
    });
  }

  private get matchers(): { pattern: string; test: (p: string) => boolean }[] {
    this.compiled ??= [...new Set([...this.patterns, ...ALWAYS_BLOCKED])].map((pattern) => {
      const variants = [ALWAYS_BLOCKED.includes(pattern) ? pattern : globWithBackupForms(pattern)];
      if (variants[0].endsWith('/**')) variants.push(variants[0].slice(0, -3));
      const tests = variants.map((v) => picomatch(v.startsWith('/') || v.startsWith('**') ? v : `**/${v}`, { dot: true }));
      return { pattern, test: (p: string) => tests.some((t) => t(p)) };
    });
    return this.compiled;
  }

  /** The pattern an absolute path matches, if any. `/proc/PID/root` prefixes are looked through. */
  match(path: string): PathHit | undefined {
    // One process's task folders and /proc/thread-self are other spellings of /proc/<tid>.
    const normalized = posix.resolve('/', path).replace(/^\/proc\/(?:\d+|self|thread-self)\/task\/(\d+)(?=\/|$)/, '/proc/$1').replace(/^\/proc\/thread-self(?=\/|$)/, '/proc/self');
    const candidates = [normalized];
    const viaRoot = /^\/proc\/(?:\d+|self|thread-self)\/root(\/.*)?$/.exec(normalized);
    if (viaRoot) candidates.push(viaRoot[1] ?? '/');
    for (const candidate of candidates) {
      for (const m of this.matchers) if (m.test(candidate)) return { path: normalized, pattern: m.pattern };
    }
    return undefined;
  }

  /**
   * Checks one argument: as a path (relative ones against `workdir`), the value of `--opt=VALUE`,
   * an attached short-option value (`-f/path`), `@file`, list items (`a,b` / `a:b`), and globs.
   */
  checkArgument(arg: string, workdir: string): PathHit | undefined {
    for (const piece of argumentPaths(arg)) {
      const abs = posix.resolve(workdir || '/', piece);
      const hit = this.match(abs);
      if (hit) return hit;
      if (GLOB_CHARS.test(piece)) {
        const globHit = this.globMayMatch(abs);
        if (globHit) return globHit;
      }
    }
    return undefined;
  }

  /** A glob argument (for find -name, or a program that expands globs itself) that could name a blocked file. */
  private globMayMatch(absGlob: string): PathHit | undefined {
    const segments = absGlob.split('/').filter(Boolean);
    for (const segment of segments) {
      if (!GLOB_CHARS.test(segment)) continue;
      const test = picomatch(segment, { dot: true });
      const sample = this.sampleNames.find((s) => test(s.name));
      if (sample) return { path: absGlob, pattern: sample.pattern };
    }
    return undefined;
  }
}

/** The strings inside one argument that could be paths. */
export function argumentPaths(arg: string): string[] {
  const pieces = new Set<string>([arg]);
  const add = (s: string) => { if (s) pieces.add(s); };
  let value = arg;
  const eq = arg.indexOf('=');
  if (arg.startsWith('-') && eq > 0) value = arg.slice(eq + 1);
  else if (/^-[A-Za-z0-9]./.test(arg) && !arg.startsWith('--')) value = arg.slice(2);
  else if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) value = arg.slice(eq + 1);
  add(value);
  if (value.startsWith('@')) add(value.slice(1));
  for (const part of value.split(/[,:]/)) add(part.startsWith('@') ? part.slice(1) : part);
  // Paths inside a larger argument (a script, "key=a b"): every token that could be a path.
  for (const token of arg.split(/[\s"'=,:;(){}<>|&`$]+/)) add(token.startsWith('@') ? token.slice(1) : token);
  return [...pieces];
}
