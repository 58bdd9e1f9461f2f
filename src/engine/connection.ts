import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as ChildProcess from 'node:child_process';
import { Agent } from 'node:http';
import { Duplex, PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { PaddockError } from '../core/errors.js';
import { EngineHttp } from './docker.js';
import { trace, traceRequests } from './trace.js';

/**
 * dockerode, loaded when first used: `paddock exec` runs through EngineHttp (./docker.ts) and
 * never evaluates its 60-odd modules. (require, not import: bundles keep it, and evaluate it on the first call.)
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dockerode = (): typeof Docker => require('dockerode');

/** Where the engine is and how to reach it. */
export interface EngineEndpoint {
  /** unix:///path, npipe://..., tcp://host:port or ssh://user@host */
  readonly host: string;
  /** Which setting chose it, for messages: "DOCKER_HOST", "context foo", "default". */
  readonly source: string;
  readonly tls?: { ca?: string; cert?: string; key?: string; verify: boolean };
}

export interface EndpointInputs {
  /** Explicit choice (CLI --host / setting), wins over everything. */
  host?: string;
  /** Explicit context (CLI --context / setting). */
  context?: string;
  env?: NodeJS.ProcessEnv;
  dockerConfigDir?: string;
}

const DEFAULT_HOST = process.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock';

/**
 * Resolves the engine the way the docker CLI does: explicit host, DOCKER_HOST, DOCKER_CONTEXT,
 * the current context of ~/.docker/config.json, then the platform default.
 */
export function resolveEndpoint(inputs: EndpointInputs = {}): EngineEndpoint {
  const env = inputs.env ?? process.env;
  const configDir = inputs.dockerConfigDir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  if (inputs.host) return { host: inputs.host, source: 'setting', tls: tlsFromEnv(env) };
  if (!inputs.context && env.DOCKER_HOST) return { host: env.DOCKER_HOST, source: 'DOCKER_HOST', tls: tlsFromEnv(env) };
  const context = inputs.context ?? env.DOCKER_CONTEXT ?? readCurrentContext(configDir);
  if (context && context !== 'default') return readContext(configDir, context);
  return { host: DEFAULT_HOST, source: 'default' };
}

function tlsFromEnv(env: NodeJS.ProcessEnv): EngineEndpoint['tls'] {
  const certPath = env.DOCKER_CERT_PATH;
  if (!certPath && !env.DOCKER_TLS_VERIFY) return undefined;
  const dir = certPath ?? join(homedir(), '.docker');
  return {
    ca: readIfExists(join(dir, 'ca.pem')), cert: readIfExists(join(dir, 'cert.pem')), key: readIfExists(join(dir, 'key.pem')),
    verify: env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0',
  };
}

function readCurrentContext(configDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: string };
    return config.currentContext || undefined;
  } catch {
    return undefined;
  }
}

const CONTEXTS_HINT = '"docker context ls" lists the contexts; name one of them with --context (or the paddock.dockerContext setting), or "docker context use default".';

function readContext(configDir: string, name: string): EngineEndpoint {
  const id = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (err: any) {
    // Its file's path (a hash of the name) says nothing a user can act on; a file there that cannot be read is another fault.
    if (err?.code !== 'ENOENT') throw new PaddockError(`Docker context "${name}" cannot be read (${metaPath}: ${err?.message ?? err}).`, CONTEXTS_HINT);
    throw new PaddockError(`Docker context "${name}" does not exist.`, CONTEXTS_HINT);
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) throw new PaddockError(`Docker context "${name}" has no Docker endpoint.`, CONTEXTS_HINT);
  const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
  const tls = existsSync(tlsDir)
    ? { ca: readIfExists(join(tlsDir, 'ca.pem')), cert: readIfExists(join(tlsDir, 'cert.pem')), key: readIfExists(join(tlsDir, 'key.pem')), verify: !endpoint.SkipTLSVerify }
    : undefined;
  return { host: endpoint.Host, source: `context ${name}`, tls };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A dockerode client for an endpoint. */
export function connect(endpoint: EngineEndpoint): Docker {
  // docker-modem also reads DOCKER_HOST / DOCKER_CERT_PATH itself and throws on a missing cert
  // file; Paddock has already resolved the endpoint, so hide those variables while it is built.
  const saved = ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY'].map((k) => [k, process.env[k]] as const);
  for (const [k] of saved) delete process.env[k];
  try {
    trace(`engine client for ${endpoint.host}`);
    return traceRequests(connectResolved(endpoint));
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

function connectResolved(endpoint: EngineEndpoint): Docker {
  const Docker = dockerode();
  const url = new URL(endpoint.host);
  switch (url.protocol) {
    case 'unix:':
      return new Docker({ socketPath: decodeURIComponent(url.pathname) });
    case 'npipe:':
      return new Docker({ socketPath: endpoint.host.replace(/^npipe:\/\//, '') });
    case 'ssh:':
      // Like the docker CLI: the system ssh (so ~/.ssh/config, the agent and known_hosts apply)
      // runs `docker system dial-stdio` on the remote machine; each HTTP connection is one ssh session.
      return new Docker({ protocol: 'http', host: 'docker', port: 80, agent: sshAgent(url) } as Docker.DockerOptions);
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const useTls = url.protocol === 'https:' || (!!endpoint.tls && (endpoint.tls.verify || !!endpoint.tls.cert));
      return new Docker({
        protocol: useTls ? 'https' : 'http', host: url.hostname, port: Number(url.port) || (useTls ? 2376 : 2375),
        ca: endpoint.tls?.ca, cert: endpoint.tls?.cert, key: endpoint.tls?.key,
      } as Docker.DockerOptions);
    }
    default:
      throw new Error(`Unsupported Docker host "${endpoint.host}". Use unix://, tcp://, ssh:// or npipe://.`);
  }
}

/**
 * The lean client (./docker.ts EngineHttp) for an endpoint it can reach as plainly as dockerode:
 * a local socket or pipe, plain tcp, or ssh; undefined for TLS (dockerode's certificate handling is kept).
 */
export function engineHttpFor(endpoint: EngineEndpoint): EngineHttp | undefined {
  const url = new URL(endpoint.host);
  switch (url.protocol) {
    case 'unix:': return new EngineHttp({ socketPath: decodeURIComponent(url.pathname) });
    case 'npipe:': return new EngineHttp({ socketPath: endpoint.host.replace(/^npipe:\/\//, '') });
    case 'ssh:': return new EngineHttp({ host: 'docker', port: 80, agent: sshAgent(url) });
    case 'tcp:':
    case 'http:': {
      const useTls = !!endpoint.tls && (endpoint.tls.verify || !!endpoint.tls.cert);
      return useTls ? undefined : new EngineHttp({ host: url.hostname, port: Number(url.port) || 2375 });
    }
    default: return undefined;
  }
}

/**
 * ssh arguments for an ssh:// engine URL. BatchMode: never stop to ask for a password. (Connection
 * sharing is left to the user's ~/.ssh/config, as with the docker CLI: a shared master would keep
 * trusting a host after its key was removed from known_hosts.)
 */
export function sshArgs(url: URL): string[] {
  const args = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
  if (url.port) args.push('-p', url.port);
  if (url.username) args.push('-l', decodeURIComponent(url.username));
  args.push('--', url.hostname, 'docker', 'system', 'dial-stdio');
  return args;
}

function sshAgent(url: URL): Agent {
  // Keep-alive: sequential requests share one ssh session (dial-stdio carries a plain HTTP/1.1 connection).
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  (agent as any).createConnection = () => {
    // Required here: only ssh engines run a process, and loading child_process costs every other command 1-7 ms.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require('node:child_process') as typeof ChildProcess;
    const child = spawn(process.env.PADDOCK_SSH ?? 'ssh', sshArgs(url), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
    // The readable side ends only when ssh has exited, so a failure (host key, auth) is reported
    // with ssh's own words instead of a bare connection reset.
    const output = new PassThrough();
    const input = new PassThrough();
    child.stdout.pipe(output, { end: false });
    input.pipe(child.stdin);
    child.stdin.on('error', () => {}); // EPIPE once ssh is gone; its exit status tells why
    const socket = Duplex.from({ readable: output, writable: input }) as Duplex & Record<string, unknown>;
    // http.ClientRequest treats its connection as a net.Socket.
    for (const noop of ['setNoDelay', 'setKeepAlive', 'setTimeout', 'ref', 'unref']) socket[noop] = () => socket;
    child.on('error', (err) => socket.destroy(new Error(`cannot run ssh for ${url.host}: ${err.message}`)));
    child.on('close', (code) => {
      if (code) socket.destroy(new Error(`ssh to ${url.host} failed (exit ${code}): ${stderr.trim() || 'no output'}`));
      else output.end();
    });
    socket.on('close', () => { if (child.exitCode === null) child.kill(); });
    return socket;
  };
  return agent;
}
