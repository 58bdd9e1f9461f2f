// One sandbox's egress proxy: its rules, live rules file, log, questions, key injector and bridge
// relay, listening on TCP ports (a proxy container of its own: ./main.ts) and/or on Unix sockets in
// the sandbox's socket folder (the shared egress service: ./service.ts). Everything it knows about
// its sandbox comes from its config and files in that sandbox's own folder, so a connection is
// served with the rules of the folder it came in through, never another sandbox's.
import { chmodSync, existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { compileEgressRules, decide, normalizeHost } from '../core/egress.js';
import { askSettingsOf, QuestionBook } from '../core/networkQuestions.js';
import { mergeLiveRules, rulesChange } from '../core/liveRules.js';
import { KEYS_SOCKET, PROXY_SOCKET, RELAY_SOCKET } from './addresses.js';
import { createKeyInjector } from './inject.js';
import { EgressLogWriter } from './log.js';
import { pipeBoth, readRelayTarget } from './relay.js';
import { watchLiveRules } from './liveRules.js';
import { createEgressProxy } from './server.js';

export interface InstanceConfig {
  readonly sandbox: string;
  /** The rules until a live rules file is read (a sandbox created before live rules has only these). */
  readonly network: { policy: 'allow' | 'deny'; allow: string[]; deny: string[] };
  /** The JSON-lines log; questions.json goes next to it. */
  readonly logFile?: string;
  readonly questionsFile?: string;
  /** The host's live rules file. */
  readonly rulesFile?: string;
  /** The keys the injector adds (JSON by provider); no injector without it. */
  readonly keysFile?: string;
  /** Where the bridge relay connects: a file naming HOST:PORT, written by the host while a bridge runs over TCP. */
  readonly relayTargetFile?: string;
  /** Listening on TCP (a proxy container of its own): the proxy's port, the injector's, the relay's, ports published for the sandbox. */
  readonly tcp?: { readonly port: number; readonly injectPort?: number; readonly bridgePort?: number; readonly forward?: readonly number[]; readonly forwardTo?: string };
  /** Listening on Unix sockets in this folder: proxy.sock, keys.sock, relay.sock. */
  readonly socketDir?: string;
  /** Lines for the operator (the container's output). */
  readonly say: (line: string) => void;
  /** Connections open at once through the socket folder (all its sockets together); more are closed at once. */
  readonly maxSocketConnections?: number;
}

/**
 * How many connections one sandbox may hold open at once through its sockets. The shared egress
 * service is one process with one limit of open files for every sandbox: without a bound of its
 * own, one sandbox holding idle connections (they never time out) takes them all, and every other
 * sandbox's connections are dropped. A tunnel costs two descriptors (the sandbox's and upstream).
 */
export const MAX_SOCKET_CONNECTIONS = 1024;

export interface EgressInstance {
  /** Resolves once every listener listens. */
  readonly listening: Promise<void>;
  /** Stops listening, cuts its connections and removes its sockets. */
  close(): void;
}

export function startEgressInstance(config: InstanceConfig): EgressInstance {
  const rules = compileEgressRules(config.network);
  // The host refuses bad rules before it makes a proxy; a bad rule here means a hand-edited config.
  if (rules.errors.length) throw new Error(`bad rules: ${rules.errors.join('; ')}`);
  const log = config.logFile ? new EgressLogWriter(config.logFile) : undefined;
  const writeLog = (entry: Parameters<EgressLogWriter['write']>[0]) => {
    try {
      log?.write(entry);
    } catch (err) {
      config.say(`cannot write the log: ${(err as Error).message}`);
    }
  };
  // Questions about hosts no rule names, in a file the host reads (the sandbox never sees this folder).
  const questionsFile = config.questionsFile;
  const book = new QuestionBook(config.sandbox);
  let questionsTimer: NodeJS.Timeout | undefined;
  let questionsDue = Infinity;
  let closed = false;
  const writeQuestions = () => {
    clearTimeout(questionsTimer);
    questionsTimer = undefined;
    questionsDue = Infinity;
    if (!questionsFile || closed) return;
    try {
      writeFileSync(`${questionsFile}.tmp`, `${JSON.stringify(book.snapshot())}\n`, { mode: 0o600 });
      renameSync(`${questionsFile}.tmp`, questionsFile);
    } catch (err) {
      config.say(`cannot write the questions file: ${(err as Error).message}`);
    }
  };
  // A new question is written within 100 ms; counts only (more requests, flooded hosts) within a second.
  // However many requests come, a flood is at most a few writes a second (the host reads each one).
  const questionsChanged = (newQuestion = true) => {
    const due = Date.now() + (newQuestion ? 100 : 1000);
    if (due >= questionsDue) return;
    clearTimeout(questionsTimer);
    questionsDue = due;
    questionsTimer = setTimeout(writeQuestions, due - Date.now());
  };
  const server = createEgressProxy({ sandbox: config.sandbox, rules, log: writeLog, questions: { book, changed: questionsChanged } });
  // The live rules file, when the host wrote one, is in force before the first connection.
  let inForce = { ...config.network };
  const liveRules = config.rulesFile ? watchLiveRules(config.rulesFile, {
    onRules: (next, compiled) => {
      const change = rulesChange(inForce, next);
      inForce = mergeLiveRules(next);
      // Questions the new rules answer go (an allow or deny rule names the host, or "deny all others").
      const reconfigured = book.configure(next.base.ask ?? askSettingsOf({}), !!next.session.quiet);
      const answered = book.answered((host, hostPort) => decide(compiled, normalizeHost(host), hostPort).rule !== 'policy deny');
      if (reconfigured || answered) questionsChanged();
      const cut = server.setRules(compiled, `rules changed by ${next.source}`);
      const summary = `policy ${compiled.policy}, ${compiled.allow.length} allow, ${compiled.deny.length} deny`;
      writeLog({ time: new Date().toISOString(), sandbox: config.sandbox, method: 'RULES', host: '-', port: 0, decision: 'rules', rule: summary, bytesSent: 0, bytesReceived: 0, change, cut });
      config.say(`rules from ${next.source} (${next.changedAt}) in force: ${summary}${cut ? `; ${cut} open connection(s) cut` : ''}`);
    },
    onRefused: (reason) => {
      writeLog({ time: new Date().toISOString(), sandbox: config.sandbox, method: 'RULES', host: '-', port: 0, decision: 'error', rule: 'rules file refused', bytesSent: 0, bytesReceived: 0, error: `${reason}; the rules in force stay` });
      config.say(`the rules file was refused (${reason}); the rules in force stay`);
    },
  }) : undefined;
  liveRules?.check();
  writeQuestions(); // this run's (empty) book replaces the last run's questions

  const injector = config.keysFile ? createKeyInjector({ sandbox: config.sandbox, log: writeLog, keys: () => JSON.parse(readFileSync(config.keysFile!, 'utf8')) }) : undefined;
  const relay = (client: Socket) => {
    const target = config.relayTargetFile ? readRelayTarget(config.relayTargetFile) : undefined;
    // No bridge runs: closing at once makes paddock-mcp say how to start one.
    if (!target) { client.destroy(); return; }
    pipeBoth(client, connect(target.port, target.host));
  };

  // Every listener, and every connection that came in (cut when the instance closes: its sandbox stopped).
  const listeners: (Server | NetServer)[] = [];
  const sockets = new Set<Socket>();
  /** The socket files this instance bound, with their inodes: at close it removes only its own (another process may have bound the path since). */
  const socketFiles: { path: string; ino?: number }[] = [];
  const pending: Promise<void>[] = [];
  const track = <S extends Server | NetServer>(s: S): S => {
    s.on('connection', (socket: Socket) => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)); });
    listeners.push(s);
    return s;
  };
  const listenTcp = (s: Server | NetServer, port: number) => pending.push(new Promise((resolve, reject) => { s.once('error', reject); s.listen(port, '0.0.0.0', () => resolve()); }));
  /** One server cannot listen twice: a socket listener hands its connections to the HTTP server. */
  const maxSocketConnections = config.maxSocketConnections ?? MAX_SOCKET_CONNECTIONS;
  let socketConnections = 0;
  /** Said once each time the bound is reached (not once per refused connection). */
  let atLimit = false;
  const bounded = (handle: (socket: Socket) => void) => (socket: Socket) => {
    if (socketConnections >= maxSocketConnections) {
      socket.destroy();
      if (!atLimit) {
        atLimit = true;
        const error = `more than ${maxSocketConnections} connections open at once: new ones are closed until some end`;
        writeLog({ time: new Date().toISOString(), sandbox: config.sandbox, method: '-', host: '-', port: 0, decision: 'error', rule: 'too many connections', bytesSent: 0, bytesReceived: 0, error });
        config.say(error);
      }
      return;
    }
    socketConnections++;
    socket.once('close', () => { if (--socketConnections < maxSocketConnections * 0.9) atLimit = false; });
    handle(socket);
  };
  const listenSocket = (name: string, handle: (socket: Socket) => void) => {
    const path = join(config.socketDir!, name);
    if (existsSync(path)) unlinkSync(path); // left by an earlier run
    const s = track(createServer(bounded(handle)));
    const file: { path: string; ino?: number } = { path };
    socketFiles.push(file);
    pending.push(new Promise((resolve, reject) => { s.once('error', reject); s.listen(path, () => { chmodSync(path, 0o666); file.ino = statSync(path).ino; resolve(); }); }));
  };

  const tcp = config.tcp;
  if (tcp) {
    listenTcp(track(server), tcp.port);
    for (const forwarded of tcp.forward ?? []) listenTcp(track(createServer((client) => pipeBoth(client, connect(forwarded, tcp.forwardTo!)))), forwarded);
    if (tcp.bridgePort && config.relayTargetFile) listenTcp(track(createServer(relay)), tcp.bridgePort);
    if (tcp.injectPort && injector) listenTcp(track(injector), tcp.injectPort);
  }
  if (config.socketDir) {
    listenSocket(PROXY_SOCKET, (socket) => server.emit('connection', socket));
    if (injector) listenSocket(KEYS_SOCKET, (socket) => injector.emit('connection', socket));
    if (config.relayTargetFile) listenSocket(RELAY_SOCKET, relay);
  }
  const listening = Promise.all(pending).then(() => undefined);
  listening.catch(() => {}); // the caller decides what a failed listener means

  return {
    listening,
    close: () => {
      if (closed) return;
      closed = true;
      clearTimeout(questionsTimer);
      liveRules?.close();
      for (const s of listeners) s.close();
      server.close();
      injector?.close();
      for (const socket of sockets) socket.destroy();
      for (const { path, ino } of socketFiles) {
        try {
          if (ino !== undefined && statSync(path).ino === ino) unlinkSync(path);
        } catch { /* already gone */ }
      }
      log?.close();
    },
  };
}
