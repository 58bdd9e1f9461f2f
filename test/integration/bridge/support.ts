// Shared set-up of the bridge integration tests: real containers ("api", "db") that print secrets
// to their logs and carry secret env vars, and a real SDK client over the real transport.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type Docker from 'dockerode';
import { AuditLog } from '../../../src/bridge/audit.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService, type BridgeRules } from '../../../src/bridge/service.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { unixFetch } from '../../../src/bridge/unix-fetch.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { CORPUS, KNOWN_SECRET } from '../../unit/bridge/corpus.js';

export const BASE_IMAGE = 'debian:bookworm-slim';
export const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
export const PROJECT = `pbt${suffix.replace(/-/g, '')}`;

export const SECRETS = {
  dbPassword: `Db-${randomBytes(8).toString('hex')}`,
  apiToken: `tok-${randomBytes(10).toString('hex')}`,
  envFile: KNOWN_SECRET,
  secretFile: `file-secret-${randomBytes(6).toString('hex')}`,
};

export interface Fixture {
  readonly api: string;
  readonly db: string;
  readonly outsider: string;
  readonly fakeSandbox: string;
  readonly seed: string;
  readonly docker: Docker;
  cleanup(): void;
}

const corpusText = CORPUS.map((e) => e.text).join('\n');

/** Starts the app containers and waits until they have printed their secrets. */
export async function startFixture(): Promise<Fixture> {
  const seed = mkdtempSync(join(tmpdir(), 'paddock-bridge-seed-'));
  writeFileSync(join(seed, '.env'), `DB_PASSWORD=${SECRETS.dbPassword}\nPLAIN=${SECRETS.envFile}\n`);
  writeFileSync(join(seed, 'corpus.txt'), `${corpusText}\n`);
  writeFileSync(join(seed, 'db.txt'), `${SECRETS.secretFile}\n`);
  writeFileSync(join(seed, 'config.json'), JSON.stringify({ db: { host: 'db', password: SECRETS.dbPassword }, feature: 'on' }, null, 2));
  mkdirSync(join(seed, 'bin'));
  chmodSync(seed, 0o755);
  const api = `pbt-api-${suffix}`;
  const db = `pbt-db-${suffix}`;
  const outsider = `pbt-outsider-${suffix}`;
  const fakeSandbox = `pbt-api-sandbox-${suffix}`;
  const apiScript = [
    'set -e', 'mkdir -p /app/secrets /app/sub /app/src',
    'cp /seed/.env /app/.env', 'cp /seed/config.json /app/config.json', 'cp /seed/corpus.txt /app/corpus.txt',
    'cp /seed/db.txt /app/secrets/db.txt',
    'ln -s /app/.env /app/link-to-env', 'ln -s /app/secrets /app/sub/secretsdir', 'ln -s /proc/1/environ /app/env-link',
    `echo '{"name":"api","scripts":{"test":"echo ok"}}' > /app/package.json`, 'echo "export const x = 1;" > /app/src/index.ts',
    'cat /seed/corpus.txt',
    'echo "connecting to postgres://app:$DB_PASSWORD@db:5432/app"',
    'echo "loaded .env: PLAIN=$(grep PLAIN /app/.env | cut -d= -f2)"',
    'echo "api token is $API_TOKEN"',
    'echo "api ready"', 'exec sleep 2147483647',
  ].join('\n');
  const run = (args: string[]) => {
    const r = docker(['run', '-d', ...args]);
    if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  };
  run(['--name', api, '-w', '/app', '-v', `${seed}:/seed:ro`, '-e', `DB_PASSWORD=${SECRETS.dbPassword}`, '-e', `API_TOKEN=${SECRETS.apiToken}`, '-e', 'NODE_ENV=production',
    '--label', `com.docker.compose.project=${PROJECT}`, '--label', 'com.docker.compose.service=api', BASE_IMAGE, 'sh', '-c', apiScript]);
  run(['--name', db, '-e', `POSTGRES_PASSWORD=${SECRETS.dbPassword}`, '--label', `com.docker.compose.project=${PROJECT}`, '--label', 'com.docker.compose.service=db',
    BASE_IMAGE, 'sh', '-c', 'echo "db: password=$POSTGRES_PASSWORD"; echo "db: ready to accept connections"; exec sleep 2147483647']);
  run(['--name', outsider, '-e', 'X=1', BASE_IMAGE, 'sh', '-c', 'echo outsider; exec sleep 2147483647']);
  // A container that looks like a Paddock sandbox: the bridge must never reach one, whatever the globs say.
  run(['--name', fakeSandbox, '--label', 'dev.paddock.sandbox=1', BASE_IMAGE, 'sh', '-c', 'exec sleep 2147483647']);
  const d = engine().docker;
  for (const [name, marker] of [[api, 'api ready'], [db, 'ready to accept']] as const) {
    for (let i = 0; ; i++) {
      const logs = docker(['logs', name]);
      if (logs.stdout.includes(marker)) break;
      if (i > 200) throw new Error(`${name} did not start: ${logs.stdout}${logs.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    api, db, outsider, fakeSandbox, seed, docker: d,
    cleanup: () => {
      docker(['rm', '-f', api, db, outsider, fakeSandbox]);
      rmSync(seed, { recursive: true, force: true });
    },
  };
}

/** A policy for the fixture: both app containers (by glob and by compose project), the given tier and permissions. */
export function rulesFor(fixture: Fixture, overrides: Record<string, any> = {}, knownSecrets: string[] = [KNOWN_SECRET]): BridgeRules {
  const policy = policySchema.parse({
    tier: overrides.tier ?? 'moderate',
    bridge: {
      containers: [`pbt-api-*${suffix}`, PROJECT], // this file's api and fake sandbox only: other fixtures may run beside it
      permissions: { files: true, lifecycle: true, ...(overrides.permissions ?? {}) },
      exec: overrides.exec ?? { [fixture.api]: ['npm test', 'cat *', 'ls *', 'echo *', 'find *', 'grep *', 'env'], db: ['echo *'] },
      ...(overrides.deny ? { deny: overrides.deny } : {}),
      ...(overrides.blockedPaths ? { blockedPaths: overrides.blockedPaths } : {}),
    },
  });
  return { bridge: policy.bridge, tier: policy.tier, knownSecrets };
}

export interface Connected {
  readonly client: Client;
  readonly server: BridgeHttpServer;
  readonly audit: AuditLog;
  readonly socket: string;
  readonly token: string;
  close(): Promise<void>;
}

/** A bridge on a fresh Unix socket with its own token, and a real SDK client connected to it. */
export async function connectBridge(fixture: Fixture, rules: BridgeRules): Promise<Connected> {
  const dir = mkdtempSync(join(tmpdir(), 'pbt-sock-'));
  const socket = join(dir, 'bridge.sock');
  const token = randomBytes(24).toString('base64url');
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const service = new BridgeService(fixture.docker, rules);
  const server = new BridgeHttpServer(token, () => createBridgeServer(service, audit, 'test'));
  await server.listen({ kind: 'unix', path: socket });
  const client = await clientFor(socket, token);
  return {
    client, server, audit, socket, token,
    close: async () => {
      await client.close().catch(() => {});
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function clientFor(socket: string, token: string | undefined): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('http://paddock-bridge/mcp'), {
    requestInit: { headers: token ? { Authorization: `Bearer ${token}` } : {} },
    fetch: unixFetch(socket),
  });
  const client = new Client({ name: 'paddock-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** Calls a tool and returns its text and error flag. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const result = await client.callTool({ name, arguments: args });
  const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
  return { text, isError: !!result.isError };
}

/** docker without blocking this process's event loop (a bridge hosted by the test answers in it). */
export function dockerAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** An MCP initialize request, one line, as an agent's first message. */
export const INIT_REQUEST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });

/** An agent's MCP client inside the sandbox: the SDK's stdio client running paddock-mcp as the agent user. */
export async function agentClient(sandbox: string): Promise<Client> {
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StdioClientTransport({ command: 'docker', args: ['exec', '-i', '-u', 'agent', sandbox, '/run/paddock/paddock-mcp'], stderr: 'pipe' }));
  return client;
}

/** What an agent sees of the fixture project through the bridge: only allowed containers, logs masked. */
export async function assertProjectVisibleAndMasked(client: Client, fixture: Fixture, secrets: readonly string[]): Promise<void> {
  const list = await callTool(client, 'list_containers');
  assert.match(list.text, new RegExp(fixture.api));
  assert.ok(!list.text.includes(fixture.outsider));
  const logs = await callTool(client, 'get_logs', { container: 'api', tail: 500 });
  assert.match(logs.text, /api ready/);
  for (const secret of secrets) assert.ok(!logs.text.includes(secret), 'masked');
}
