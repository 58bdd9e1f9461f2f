// The shared egress service: one long-lived process per engine (src/engine/egressService.ts) that
// is every sandbox's egress proxy. Each sandbox has no network interface but loopback and reaches it
// only through the Unix sockets in its own folder, so the service knows the caller by the socket it
// came in on: each folder gets its own proxy instance (./instance.ts) with that sandbox's rules, keys,
// log and questions. The host says which sandboxes run in <root>/serve/ (./serviceLayout.ts); the
// service follows that folder (a file event, and a look every second besides).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEgressInstance, type EgressInstance } from './instance.js';
import { SANDBOX_FOLDER, sandboxFiles, SERVE_FOLDER, upstreamOf, type Registration } from './serviceLayout.js';

export const SERVICE_ROOT_VARIABLE = 'PADDOCK_EGRESS_SERVICE_ROOT';
/** The network this service goes out through (services of several networks can share one state folder). */
export const SERVICE_UPSTREAM_VARIABLE = 'PADDOCK_EGRESS_SERVICE_UPSTREAM';

const say = (line: string) => process.stdout.write(`paddock-egress: ${line}\n`);

function readRegistration(file: string): Registration | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof r?.sandbox !== 'string' || typeof r.run !== 'string' || !r.network || !Array.isArray(r.network.allow) || !Array.isArray(r.network.deny)) return undefined;
    return r;
  } catch {
    return undefined; // being written (it is renamed into place, so rarely), or not the host's
  }
}

export function runEgressService(root: string, upstream = 'bridge'): void {
  const serveDir = join(root, SERVE_FOLDER);
  mkdirSync(serveDir, { recursive: true, mode: 0o700 });
  const running = new Map<string, { run: string; instance: EgressInstance }>();

  const start = (id: string, registration: Registration) => {
    const files = sandboxFiles(root, id);
    const tag = `${registration.sandbox}: `;
    let instance: EgressInstance;
    try {
      instance = startEgressInstance({
        sandbox: registration.sandbox, network: registration.network, logFile: files.log, questionsFile: files.questions,
        rulesFile: files.rules, keysFile: files.keys, relayTargetFile: files.relayTarget, socketDir: files.sockets,
        say: (line) => say(tag + line),
      });
    } catch (err) {
      say(`${tag}not served: ${(err as Error).message}`);
      return;
    }
    running.set(id, { run: registration.run, instance });
    instance.listening.then(() => {
      if (running.get(id)?.instance !== instance) return;
      // The host waits for this before it calls the sandbox started.
      writeFileSync(`${files.serving}.tmp`, `${JSON.stringify({ run: registration.run })}\n`, { mode: 0o600 });
      renameSync(`${files.serving}.tmp`, files.serving);
      say(`${tag}serving run ${registration.run}`);
    }, (err) => say(`${tag}cannot listen: ${(err as Error).message}`));
  };

  const stop = (id: string) => {
    running.get(id)?.instance.close();
    running.delete(id);
  };

  const quit = () => {
    for (const id of [...running.keys()]) stop(id);
    process.exit(0);
  };

  /** Serves exactly the sandboxes registered now: new ones start, new runs start afresh, removed ones stop. */
  const sync = () => {
    let names: string[];
    try {
      names = readdirSync(serveDir);
    } catch {
      // The host removed its state folder (a temporary one, or a reset): nothing is left to serve.
      say(`${serveDir} is gone: stopping`);
      quit();
      return;
    }
    const wanted = new Map<string, Registration>();
    for (const name of names) {
      const id = name.replace(/\.json$/, '');
      if (!name.endsWith('.json') || !SANDBOX_FOLDER.test(id) || !existsSync(sandboxFiles(root, id).sockets)) continue;
      const registration = readRegistration(join(serveDir, name));
      // Another network's sandbox is its service's: serving it here would take over its sockets and
      // send it out (and judge its own-network refusals) through the wrong network.
      if (registration && upstreamOf(registration) === upstream) wanted.set(id, registration);
    }
    for (const id of [...running.keys()]) if (!wanted.has(id)) { stop(id); say(`${id}: stopped`); }
    for (const [id, registration] of wanted) {
      if (running.get(id)?.run === registration.run) continue;
      stop(id);
      start(id, registration);
    }
  };

  // Events coalesced: a burst of registrations is one look at the folder.
  let due: NodeJS.Timeout | undefined;
  const soon = () => { due ??= setTimeout(() => { due = undefined; sync(); }, 5); };
  try {
    watch(serveDir, soon).on('error', () => {});
  } catch {
    // the look every second alone
  }
  // The look every second reads the folder only when it changed (a registration is renamed into place).
  let seen = -1;
  setInterval(() => {
    let mtime: number;
    try {
      mtime = statSync(serveDir).mtimeMs;
    } catch {
      mtime = -2;
    }
    if (mtime !== seen) { seen = mtime; sync(); }
  }, 1000);
  sync();
  say(`listening (shared service for ${root}, out through ${upstream})`);
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
}
