import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

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

function readContext(configDir: string, name: string): EngineEndpoint {
  const id = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch {
    throw new Error(`Docker context "${name}" was not found (${metaPath}). Run "docker context ls" to see the contexts, or "docker context use default".`);
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) throw new Error(`Docker context "${name}" has no docker endpoint.`);
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
  const url = new URL(endpoint.host);
  switch (url.protocol) {
    case 'unix:':
      return new Docker({ socketPath: decodeURIComponent(url.pathname) });
    case 'npipe:':
      return new Docker({ socketPath: endpoint.host.replace(/^npipe:\/\//, '') });
    case 'ssh:':
      return new Docker({ protocol: 'ssh', host: url.hostname, port: Number(url.port) || 22, username: decodeURIComponent(url.username) || undefined } as Docker.DockerOptions);
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
