import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { demuxToText, type EngineHttp } from './docker.js';
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

// The helper: node, in a fresh container of the sandbox's image. Its input is one line on stdin, so
// that a warm `paddock run` can start it before it knows what to ask (src/cli/runEarly.ts); no line
// (its caller did not need it, or ended) ends it. Symlinks are resolved component by
// component inside /proc/1/root (an absolute target means the sandbox's root, not the helper's), and
// nothing is opened that could block (O_NONBLOCK: a FIFO the agent put on a checked path).
const HELPER = String.raw`
const fs = require('fs');
const DONE = ${JSON.stringify(DONE)};
const ROOT = '/proc/1/root';
const parts = [];
for (const chunk = Buffer.alloc(65536); ;) {
  const n = fs.readSync(0, chunk, 0, chunk.length, null);
  if (n === 0) break;
  parts.push(Buffer.from(chunk.subarray(0, n)));
  if (chunk.subarray(0, n).includes(10)) break;
}
const line = Buffer.concat(parts).toString('utf8').split('\n')[0];
if (!line) process.exit(0);
const [probes, hostname, workspace, socketDirs] = JSON.parse(line);
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

/** The engine calls that run the helper: the lean client's (./docker.ts EngineHttp), or dockerode's for a TLS engine. */
export interface HelperEngine {
  create(spec: Docker.ContainerCreateOptions): Promise<string>;
  /** Its input and output, one stream both ways (multiplexed output). */
  attach(id: string): Promise<Duplex>;
  start(id: string): Promise<void>;
  kill(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

export function helperEngineOf(http: EngineHttp): HelperEngine {
  return {
    create: async (spec) => (await http.call<{ Id: string }>('POST', '/containers/create', spec)).Id,
    attach: (id) => http.upgrade(`/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`, undefined),
    start: async (id) => { await http.call('POST', `/containers/${id}/start`); },
    kill: async (id) => { await http.call('POST', `/containers/${id}/kill`); },
    remove: async (id) => { await http.call('DELETE', `/containers/${id}?force=1`); },
  };
}

function dockerodeHelperEngine(docker: Docker): HelperEngine {
  return {
    create: async (spec) => (await docker.createContainer(spec)).id,
    attach: async (id) => (await docker.getContainer(id).attach({ stream: true, hijack: true, stdin: true, stdout: true, stderr: true })) as unknown as Duplex,
    start: async (id) => { await docker.getContainer(id).start(); },
    kill: async (id) => { await docker.getContainer(id).kill(); },
    remove: async (id) => { await docker.getContainer(id).remove({ force: true }); },
  };
}

/** A started helper waiting for its one line of input; `info` is the sandbox it looks into. */
export interface RunningHelper {
  readonly info: Docker.ContainerInspectInfo;
  /** Sends the input and returns all it printed (rejects when it did not end with its done line). */
  answer(input: string): Promise<string>;
  /** Ends it unasked (it ends at the end of its input, and the engine removes it). */
  close(): void;
}

/** Creates and starts the helper for a sandbox (`info`: its inspect); it waits for its input. */
export async function startHelper(api: HelperEngine, info: Docker.ContainerInspectInfo): Promise<RunningHelper> {
  const id = await api.create({
    Image: info.Image,
    Entrypoint: ['node'],
    Cmd: ['-e', HELPER],
    User: '0:0',
    WorkingDir: '/',
    Env: [`PATH=/usr/local/bin:${SYSTEM_PATH}`],
    Labels: { 'dev.paddock.verify-of': info.Name.replace(/^\//, '') },
    NetworkDisabled: true,
    // Its input comes from this process alone; the engine closes it when this process's attach ends.
    OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
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
  } as Docker.ContainerCreateOptions);
  // Its output is read from an attach made before the start (a removed container has no logs).
  let stream: Duplex;
  try {
    stream = await api.attach(id);
    await api.start(id);
  } catch (err) {
    await api.remove(id).catch(() => {}); // never started, so never removed by the engine
    throw err;
  }
  const parts: Buffer[] = [];
  const ended = new Promise<void>((resolveEnd) => {
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.on('end', resolveEnd);
    stream.on('close', resolveEnd);
    stream.on('error', () => resolveEnd());
  });
  return {
    info,
    answer: async (input) => {
      stream.write(`${input}\n`);
      const timer = setTimeout(() => { api.kill(id).catch(() => {}); }, HELPER_TIMEOUT_MS);
      await ended.finally(() => clearTimeout(timer));
      // One text: the answers are lines of their own shape, and anything else is the error.
      const text = demuxToText(Buffer.concat(parts), (t) => t);
      if (text.trimEnd().split('\n').pop() !== DONE) throw new Error(text.trim().slice(-300) || 'the helper ended without answering');
      return text;
    },
    close: () => { stream.end(); },
  };
}

/**
 * Answers the probes about a sandbox. `early`: a helper started for it before the probes were
 * known (./verifyEarly.ts); when it fails, a new one is made, as when there is none.
 */
export async function probeSandbox(engine: SandboxEngine, info: Docker.ContainerInspectInfo, workspace: string, probes: readonly ProbeRequest[], early?: RunningHelper): Promise<ProbeAnswers> {
  let fallbackReason = '';
  const runtime = info.HostConfig.Runtime || 'runc';
  const given = runtime === 'runc' && early?.info.Id === info.Id ? early : undefined;
  if (early && !given) early.close(); // another container's (the sandbox was made again meanwhile)
  if (runtime !== 'runc') {
    fallbackReason = `the sandbox runs under ${runtime}, whose processes a helper container cannot look into`;
  } else {
    const input = JSON.stringify([probes.map((p) => [p.kind, p.path]), info.Config.Hostname, workspace, SOCKET_DIRS]);
    const api = () => (engine.engineHttp ? helperEngineOf(engine.engineHttp) : dockerodeHelperEngine(engine.docker));
    for (const helper of given ? [given, undefined] : [undefined]) {
      try {
        return parse(await (helper ?? await startHelper(api(), info)).answer(input), 'outside');
      } catch (err: any) {
        fallbackReason = `the helper container could not read it (${String(err?.message ?? err).split('\n')[0].slice(0, 200)})`;
      }
    }
    // An agent with uid 0 can replace the sandbox's own programs, and can make the helper fail (it
    // sees the helper's processes): its answers from inside would be the agent's, so none counts.
    if (agentIsRoot(info)) {
      throw new PaddockError(`The hiding of ${info.Name.replace(/^\//, '')} could not be checked: ${fallbackReason}, and its own programs prove nothing, since its agent runs as uid 0 (the workspace belongs to root) and could have replaced them.`,
        `Run the check again ("paddock verify"); if the helper keeps failing, stop and start the sandbox ("paddock stop", then "paddock start"), which mounts every hidden path again.`);
    }
  }
  const argv = ['/bin/sh', '-c', SCRIPT, 'paddock-verify', ...probes.flatMap((p) => [p.kind, p.path])];
  const result = await engine.execCapture(info.Id, argv, { user: 'root', workdir: '/', env: rootExecEnv(info.Config.Env) });
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`);
  return { ...parse(result.stdout, 'inside'), fallbackReason };
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

/** Whether the sandbox's agent runs as uid 0 (the init makes it the workspace owner's uid, PADDOCK_UID). */
function agentIsRoot(info: Docker.ContainerInspectInfo): boolean {
  return (info.Config.Env ?? []).includes('PADDOCK_UID=0');
}
