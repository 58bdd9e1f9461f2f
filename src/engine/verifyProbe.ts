import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { demuxToText } from './docker.js';
import type { SandboxEngine } from './engine.js';
import { rootExecEnv, SYSTEM_PATH } from './rootExec.js';

/**
 * How `paddock verify` looks into a sandbox without trusting a program the agent could have
 * replaced. A uid-0 agent (a workspace that belongs to root) can rewrite /usr/bin/head or libc in
 * its sandbox, and any agent could put its own head first in PATH, so the checks run in a helper
 * container of the sandbox's *image* (image layers are read-only to the sandbox): it shares the
 * sandbox's PID namespace and reads the sandbox's files through /proc/1/root, which is the
 * sandbox's own mount namespace (hiding mounts, a mount the host detached, files the agent
 * created). Where that cannot work (gVisor keeps its processes in its own kernel, or the image has
 * no node), the same checks run inside the sandbox as root with system programs only and a fixed
 * environment, and the report says so.
 */

export interface ProbeRequest { readonly kind: 'file' | 'dir' | 'ro' | 'absent'; readonly path: string }

export interface ProbeAnswers {
  /** Answer per probe, in order ('absent', 'empty', 'readable', 'is-folder', 'listed', 'writable', 'read-only', 'present'). */
  readonly answers: readonly (string | undefined)[];
  /** Engine sockets found in the sandbox. */
  readonly sockets: readonly string[];
  /** outside: the helper read the sandbox's files; inside: the sandbox's own programs did. */
  readonly via: 'outside' | 'inside';
  /** Why the helper could not be used (when via is inside). */
  readonly fallbackReason?: string;
}

/** Folders where a process would put an engine socket. */
const SOCKET_DIRS = ['/run', '/var/run', '/tmp', '/home', '/root', '/mnt', '/opt', '/srv'];

/** The helper's last line: every answer was written (its exit code is not asked for; the engine has removed it by then). */
const DONE = 'paddock-helper: done';

// The helper: node, in a fresh container of the sandbox's image. Symlinks are resolved component by
// component inside /proc/1/root (an absolute target means the sandbox's root, not the helper's), and
// nothing is opened that could block (O_NONBLOCK: a FIFO the agent put on a checked path).
const HELPER = String.raw`
const fs = require('fs');
const DONE = ${JSON.stringify(DONE)};
const ROOT = '/proc/1/root';
const [probes, hostname, workspace, socketDirs] = JSON.parse(process.argv[1]);
const within = (parts) => ROOT + '/' + parts.join('/');
function resolve(path, followLast) {
  let todo = path.split('/').filter(Boolean);
  let done = [];
  for (let hops = 0; todo.length;) {
    const name = todo.shift();
    if (name === '.') continue;
    if (name === '..') { done.pop(); continue; }
    let st;
    try { st = fs.lstatSync(within([...done, name])); } catch (e) { if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null; throw e; }
    if (st.isSymbolicLink() && (todo.length || followLast)) {
      if (++hops > 40) return null;
      const target = fs.readlinkSync(within([...done, name]));
      if (target.startsWith('/')) done = [];
      todo = [...target.split('/').filter(Boolean), ...todo];
      continue;
    }
    done.push(name);
  }
  return within(done);
}
function firstByte(real) {
  let fd;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY | fs.constants.O_NOFOLLOW);
    return fs.readSync(fd, Buffer.alloc(1), 0, 1, null) > 0 ? 'readable' : 'empty';
  } catch { return 'empty'; } finally { if (fd !== undefined) fs.closeSync(fd); }
}
const writable = (real) => { try { fs.accessSync(real, fs.constants.W_OK); return true; } catch { return false; } };
// The helper must be looking at the sandbox: its hostname file and its workspace folder.
if (fs.readFileSync(ROOT + '/etc/hostname', 'utf8').trim() !== hostname || !fs.statSync(ROOT + workspace).isDirectory()) {
  console.error('not the sandbox: /proc/1/root is another root'); process.exit(3);
}
probes.forEach(([kind, path], i) => {
  const n = i + 1;
  let answer;
  if (kind === 'file') {
    const name = resolve(path, false);
    if (name === null) answer = 'absent';
    else {
      const real = resolve(path, true);
      const st = real && fs.statSync(real, { throwIfNoEntry: false });
      answer = !st ? 'empty' : st.isDirectory() ? 'is-folder' : firstByte(real);
    }
  } else if (kind === 'dir') {
    const real = resolve(path, true);
    const st = real && fs.statSync(real, { throwIfNoEntry: false });
    if (!st) answer = 'absent';
    else if (!st.isDirectory()) answer = firstByte(real);
    else if (fs.readdirSync(real).length) answer = 'listed';
    else answer = writable(real) ? 'writable' : 'empty';
  } else if (kind === 'ro') {
    const real = resolve(path, true);
    answer = !real || !fs.existsSync(real) ? 'absent' : writable(real) ? 'writable' : 'read-only';
  } else {
    answer = resolve(path, false) === null ? 'absent' : 'present';
  }
  console.log(n + ' ' + answer);
});
for (const dir of socketDirs) {
  const start = resolve(dir, true);
  const top = start && fs.statSync(start, { throwIfNoEntry: false });
  if (!top || !top.isDirectory()) continue;
  const walk = (real, shown, depth) => {
    let entries = [];
    try { entries = fs.readdirSync(real, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const child = real + '/' + e.name;
      const st = fs.lstatSync(child, { throwIfNoEntry: false });
      if (!st || st.dev !== top.dev) continue;
      // JSON: a name is the agent's choice, and one with a newline in it would be lines of its own.
      if (st.isSocket() && /docker|containerd|podman/.test(e.name)) console.log('socket ' + JSON.stringify(shown + '/' + e.name));
      else if (st.isDirectory() && depth < 4) walk(child, shown + '/' + e.name, depth + 1);
    }
  };
  walk(start, dir, 1);
}
console.log(DONE);
`;

// The same checks with the sandbox's own programs, as root: absolute /bin/sh, the system folders'
// programs, and a fixed environment (rootExecEnv).
const SCRIPT = String.raw`
i=0
while [ $# -gt 1 ]; do
  kind=$1; p=$2; shift 2; i=$((i+1))
  case $kind in
    file)
      if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo "$i absent"
      elif [ -d "$p" ]; then echo "$i is-folder"
      else n=$(head -c 1 -- "$p" 2>/dev/null | wc -c); if [ "$n" -eq 0 ]; then echo "$i empty"; else echo "$i readable"; fi
      fi;;
    dir)
      if [ ! -e "$p" ]; then echo "$i absent"
      elif [ ! -d "$p" ]; then n=$(head -c 1 -- "$p" 2>/dev/null | wc -c); if [ "$n" -eq 0 ]; then echo "$i empty"; else echo "$i readable"; fi
      else n=$(ls -A -- "$p" 2>/dev/null | head -n 1 | wc -l); if [ "$n" -ne 0 ]; then echo "$i listed"; elif [ -w "$p" ]; then echo "$i writable"; else echo "$i empty"; fi
      fi;;
    ro)
      if [ ! -e "$p" ]; then echo "$i absent"; elif [ -w "$p" ]; then echo "$i writable"; else echo "$i read-only"; fi;;
    absent)
      if [ -e "$p" ] || [ -L "$p" ]; then echo "$i present"; else echo "$i absent"; fi;;
  esac
done
for d in ${SOCKET_DIRS.join(' ')}; do
  [ -d "$d" ] && find "$d" -xdev -maxdepth 4 -type s \( -name '*docker*' -o -name '*containerd*' -o -name '*podman*' \) 2>/dev/null | sed 's/^/socket /'
done
exit 0
`;

const HELPER_TIMEOUT_MS = 60_000;

export async function probeSandbox(engine: SandboxEngine, info: Docker.ContainerInspectInfo, workspace: string, probes: readonly ProbeRequest[]): Promise<ProbeAnswers> {
  let fallbackReason: string;
  const runtime = info.HostConfig.Runtime || 'runc';
  if (runtime !== 'runc') {
    fallbackReason = `the sandbox runs under ${runtime}, whose processes a helper container cannot look into`;
  } else {
    try {
      return parse(await runHelper(engine.docker, info, workspace, probes), 'outside');
    } catch (err: any) {
      fallbackReason = `the helper container could not read it (${String(err?.message ?? err).split('\n')[0].slice(0, 200)})`;
    }
  }
  const argv = ['/bin/sh', '-c', SCRIPT, 'paddock-verify', ...probes.flatMap((p) => [p.kind, p.path])];
  const result = await engine.execCapture(info.Id, argv, { user: 'root', workdir: '/', env: rootExecEnv(info.Config.Env) });
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`);
  return { ...parse(result.stdout, 'inside'), fallbackReason };
}

async function runHelper(docker: Docker, info: Docker.ContainerInspectInfo, workspace: string, probes: readonly ProbeRequest[]): Promise<string> {
  const input = JSON.stringify([probes.map((p) => [p.kind, p.path]), info.Config.Hostname, workspace, SOCKET_DIRS]);
  const helper = await docker.createContainer({
    Image: info.Image,
    Entrypoint: ['node'],
    Cmd: ['-e', HELPER, input],
    User: '0:0',
    WorkingDir: '/',
    Env: [`PATH=/usr/local/bin:${SYSTEM_PATH}`],
    Labels: { 'dev.paddock.verify-of': info.Name.replace(/^\//, '') },
    NetworkDisabled: true,
    HostConfig: {
      PidMode: `container:${info.Id}`,
      NetworkMode: 'none',
      Runtime: 'runc',
      // Reads what root in the sandbox reads (DAC_*) and another process's root (SYS_PTRACE); nothing else.
      CapDrop: ['ALL'],
      CapAdd: ['SYS_PTRACE', 'DAC_OVERRIDE', 'DAC_READ_SEARCH'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Memory: 256 * 1024 * 1024,
      PidsLimit: 16,
      // The engine removes it when it ends, as `docker run --rm`: no remove request after it (a warm
      // `paddock run` waits for this check), and none left behind when this process is killed meanwhile.
      AutoRemove: true,
    },
  });
  // Its output is read from an attach made before the start (a removed container has no logs).
  let output: Readable;
  try {
    output = (await helper.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
    await helper.start();
  } catch (err) {
    await helper.remove({ force: true }).catch(() => {}); // never started, so never removed by the engine
    throw err;
  }
  const parts: Buffer[] = [];
  const timer = setTimeout(() => { helper.kill().catch(() => {}); }, HELPER_TIMEOUT_MS);
  await new Promise<void>((resolveEnd) => {
    output.on('data', (chunk: Buffer) => parts.push(chunk));
    output.on('end', resolveEnd);
    output.on('close', resolveEnd);
    output.on('error', () => resolveEnd());
  }).finally(() => clearTimeout(timer));
  // One text: the answers are lines of their own shape, and anything else is the error.
  const text = demuxToText(Buffer.concat(parts), (t) => t);
  if (text.trimEnd().split('\n').pop() !== DONE) throw new Error(text.trim().slice(-300) || 'the helper ended without answering');
  return text;
}

function parse(stdout: string, via: 'outside' | 'inside'): ProbeAnswers {
  const answers: (string | undefined)[] = [];
  const sockets: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line);
    // The first answer counts: every probe is answered before the socket search prints a name the
    // agent chose (the sandbox's own find prints a newline in one as it is, so it can make lines).
    if (m) answers[Number(m[1]) - 1] ??= m[2];
    else if (line.startsWith('socket ')) sockets.push(via === 'outside' ? JSON.parse(line.slice(7)) : line.slice(7));
  }
  return { answers, sockets, via };
}
