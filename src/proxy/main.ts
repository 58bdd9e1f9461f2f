// The egress proxy's process, bundled to dist/paddock-egress.js and run with node in the proxy
// container of each sandbox (see src/engine/egress.ts). Configuration comes from the environment:
//   PADDOCK_EGRESS_CONFIG  JSON {"sandbox": NAME, "network": {policy, allow, deny}}
//   PADDOCK_EGRESS_RULES   the host's live rules file (src/core/liveRules.ts), in the read-only keys
//                          folder: once it exists it replaces the rules above, and each change is in
//                          force within a second (./liveRules.ts); a file that does not parse is refused
//   PADDOCK_EGRESS_LOG     the JSON-lines log file (a host folder is mounted there); questions.json next
//                          to it lists the questions about hosts no rule names (src/core/networkQuestions.ts)
//   PADDOCK_EGRESS_PORT    listening port (default 3128)
//   PADDOCK_EGRESS_FORWARD / _TO  ports published for the sandbox: each is forwarded to the same
//                          port of the sandbox (Docker publishes nothing from an internal network)
//   PADDOCK_EGRESS_BRIDGE_PORT / _TARGET  the bridge relay: connections to this port go to the
//                          HOST:PORT named in the target file (the bridge's TCP listener on Docker
//                          Desktop), which the host writes while a bridge runs
//   PADDOCK_EGRESS_INJECT_PORT / PADDOCK_EGRESS_KEYS  the key-injecting reverse proxy and its keys
//                          file (JSON by provider, written by the host; the sandbox never sees it)
//   PADDOCK_EGRESS_SOCKET_DIR  also serve both on Unix sockets there (proxy.sock, keys.sock), for a
//                          sandbox without a network (gVisor --network=none)
import { chmodSync, existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { compileEgressRules, decide, normalizeHost } from '../core/egress.js';
import { askSettingsOf, QuestionBook } from '../core/networkQuestions.js';
import { mergeLiveRules, rulesChange } from '../core/liveRules.js';
import { KEYS_SOCKET, PROXY_PORT, PROXY_SOCKET } from './addresses.js';
import { createKeyInjector } from './inject.js';
import { EgressLogWriter } from './log.js';
import { pipeBoth, readRelayTarget } from './relay.js';
import { watchLiveRules } from './liveRules.js';
import { createEgressProxy } from './server.js';

function fail(message: string): never {
  process.stderr.write(`paddock-egress: ${message}\n`);
  process.exit(2);
}

const configText = process.env.PADDOCK_EGRESS_CONFIG;
if (!configText) fail('PADDOCK_EGRESS_CONFIG is not set');
let config: { sandbox: string; network: { policy: 'allow' | 'deny'; allow: string[]; deny: string[] } };
try {
  config = JSON.parse(configText);
} catch (err) {
  fail(`PADDOCK_EGRESS_CONFIG is not JSON: ${(err as Error).message}`);
}
const rules = compileEgressRules(config.network);
// The CLI refuses bad rules before it creates the proxy; a bad rule here means a hand-edited container.
if (rules.errors.length) fail(`bad rules: ${rules.errors.join('; ')}`);
const log = process.env.PADDOCK_EGRESS_LOG ? new EgressLogWriter(process.env.PADDOCK_EGRESS_LOG) : undefined;
const port = Number(process.env.PADDOCK_EGRESS_PORT ?? PROXY_PORT);

const writeLog = (entry: Parameters<EgressLogWriter['write']>[0]) => {
  try {
    log?.write(entry);
  } catch (err) {
    process.stderr.write(`paddock-egress: cannot write the log: ${(err as Error).message}\n`);
  }
};
// Questions about hosts no rule names, in a file the host reads (the sandbox never sees this folder).
const questionsFile = process.env.PADDOCK_EGRESS_LOG ? join(dirname(process.env.PADDOCK_EGRESS_LOG), 'questions.json') : undefined;
const book = new QuestionBook(config.sandbox);
let questionsTimer: NodeJS.Timeout | undefined;
let questionsDue = Infinity;
const writeQuestions = () => {
  clearTimeout(questionsTimer);
  questionsTimer = undefined;
  questionsDue = Infinity;
  if (!questionsFile) return;
  try {
    writeFileSync(`${questionsFile}.tmp`, `${JSON.stringify(book.snapshot())}\n`, { mode: 0o600 });
    renameSync(`${questionsFile}.tmp`, questionsFile);
  } catch (err) {
    process.stderr.write(`paddock-egress: cannot write the questions file: ${(err as Error).message}\n`);
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
const rulesFile = process.env.PADDOCK_EGRESS_RULES;
let inForce = { ...config.network };
const liveRules = rulesFile ? watchLiveRules(rulesFile, {
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
    process.stdout.write(`paddock-egress: rules from ${next.source} (${next.changedAt}) in force: ${summary}${cut ? `; ${cut} open connection(s) cut` : ''}\n`);
  },
  onRefused: (reason) => {
    writeLog({ time: new Date().toISOString(), sandbox: config.sandbox, method: 'RULES', host: '-', port: 0, decision: 'error', rule: 'rules file refused', bytesSent: 0, bytesReceived: 0, error: `${reason}; the rules in force stay` });
    process.stderr.write(`paddock-egress: the rules file was refused (${reason}); the rules in force stay\n`);
  },
}) : undefined;
liveRules?.check();
writeQuestions(); // this run's (empty) book replaces the last run's questions
server.listen(port, '0.0.0.0', () => {
  process.stdout.write(`paddock-egress: listening on :${port} for ${config.sandbox} (policy ${inForce.policy}, ${inForce.allow.length} allow, ${inForce.deny.length} deny rules)\n`);
});
const forwardTo = process.env.PADDOCK_EGRESS_FORWARD_TO;
for (const item of (process.env.PADDOCK_EGRESS_FORWARD ?? '').split(',').filter(Boolean)) {
  const forwarded = Number(item);
  createServer((client) => pipeBoth(client, connect(forwarded, forwardTo!))).listen(forwarded, '0.0.0.0');
}
const bridgePort = Number(process.env.PADDOCK_EGRESS_BRIDGE_PORT ?? 0);
const bridgeTarget = process.env.PADDOCK_EGRESS_BRIDGE_TARGET;
if (bridgePort && bridgeTarget) {
  createServer((client) => {
    const target = readRelayTarget(bridgeTarget);
    // No bridge runs: closing at once makes paddock-mcp say how to start one.
    if (!target) { client.destroy(); return; }
    pipeBoth(client, connect(target.port, target.host));
  }).listen(bridgePort, '0.0.0.0');
}
const injectPort = Number(process.env.PADDOCK_EGRESS_INJECT_PORT ?? 0);
const keysFile = process.env.PADDOCK_EGRESS_KEYS;
const injector = injectPort && keysFile ? createKeyInjector({ sandbox: config.sandbox, log: writeLog, keys: () => JSON.parse(readFileSync(keysFile, 'utf8')) }) : undefined;
injector?.listen(injectPort, '0.0.0.0');

/** The same HTTP server on a Unix socket too (one server cannot listen twice: hand it the connections). */
function alsoOnSocket(http: Server, path: string): void {
  if (existsSync(path)) unlinkSync(path); // left by an earlier run of this proxy
  createServer((socket) => http.emit('connection', socket)).listen(path, () => chmodSync(path, 0o666));
}
const socketDir = process.env.PADDOCK_EGRESS_SOCKET_DIR;
if (socketDir) {
  alsoOnSocket(server, join(socketDir, PROXY_SOCKET));
  if (injector) alsoOnSocket(injector, join(socketDir, KEYS_SOCKET));
}
const stop = () => {
  liveRules?.close();
  server.close();
  log?.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
