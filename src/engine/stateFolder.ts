import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { shortHash } from '../core/naming.js';
import { assetRoot } from './assets.js';

/**
 * The bridge's per-sandbox folder on the host:
 *   <root>/<hash of sandbox name>/
 *     mount/          bind-mounted read-only at /run/paddock in the sandbox (owned by the agent's uid, 0700)
 *       bridge.sock   the bridge's Unix socket (0600), while a bridge host runs
 *       token         the sandbox's bearer token (0600)
 *       endpoint      where paddock-mcp connects: unix:/run/paddock/bridge.sock or http://host.docker.internal:PORT/mcp
 *       paddock-mcp   the stdio shim (one file, runs on node >= 18)
 *     audit.jsonl     the audit log (never visible in the sandbox)
 *     name            the sandbox name, for people reading the folder
 */

/** Where the folder appears inside the sandbox. */
export const SANDBOX_BRIDGE_DIR = '/run/paddock';
export const SANDBOX_SHIM = `${SANDBOX_BRIDGE_DIR}/paddock-mcp`;
export const SANDBOX_SOCKET = `${SANDBOX_BRIDGE_DIR}/bridge.sock`;

/** Unix socket paths are limited to 108 bytes on Linux (104 on macOS). */
const MAX_SOCKET_PATH = 100;

export function bridgeRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PADDOCK_BRIDGE_DIR) return env.PADDOCK_BRIDGE_DIR;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'paddock', 'bridge');
}

export interface BridgePaths {
  readonly dir: string;
  readonly mountDir: string;
  readonly socket: string;
  readonly token: string;
  readonly endpoint: string;
  readonly shim: string;
  readonly audit: string;
}

export function bridgePaths(sandboxName: string, root = bridgeRoot()): BridgePaths {
  const dir = join(root, shortHash(`sandbox:${sandboxName}`, 12));
  const mountDir = join(dir, 'mount');
  return {
    dir, mountDir,
    socket: join(mountDir, 'bridge.sock'),
    token: join(mountDir, 'token'),
    endpoint: join(mountDir, 'endpoint'),
    shim: join(mountDir, 'paddock-mcp'),
    audit: join(dir, 'audit.jsonl'),
  };
}

/**
 * The audit log of a standalone bridge (`paddock bridge --stdio|--listen`, which VS Code's chat
 * starts per folder): one per kind and policy source (the workspace folder or policy file).
 */
export function standaloneAuditFile(kind: 'stdio' | 'listen', source: string, root = bridgeRoot()): string {
  return join(root, `${kind}-${shortHash(source, 12)}`, 'audit.jsonl');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The built shim: dist/paddock-mcp.js next to the CLI (npm run build makes it). */
export function shimSource(): string {
  return join(assetRoot(), 'dist', 'paddock-mcp.js');
}

function ownBy(path: string, owner?: { uid: number; gid: number }): void {
  if (owner && process.getuid?.() === 0) chownSync(path, owner.uid, owner.gid);
}

/**
 * Makes the sandbox's bridge folder with a fresh token (a new sandbox never inherits a removed
 * one's token) and the shim; returns the mount that puts it at /run/paddock, read-only.
 * `owner` is the workspace owner: the agent runs with that uid and must be able to use the socket.
 */
export function prepareBridgeDir(sandboxName: string, owner?: { uid: number; gid: number }, root = bridgeRoot()): { paths: BridgePaths; mount: Docker.MountConfig[number] } {
  const paths = bridgePaths(sandboxName, root);
  if (paths.socket.length > MAX_SOCKET_PATH) {
    throw new Error(`The bridge socket path ${paths.socket} is longer than Unix sockets allow; set PADDOCK_BRIDGE_DIR to a shorter folder.`);
  }
  mkdirSync(paths.mountDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
  chmodSync(paths.mountDir, 0o700);
  ownBy(paths.mountDir, owner);
  writeFileSync(join(paths.dir, 'name'), `${sandboxName}\n`);
  writeSecretFile(paths.token, `${newToken()}\n`, owner);
  refreshShim(paths, owner);
  return { paths, mount: { Type: 'bind', Source: paths.mountDir, Target: SANDBOX_BRIDGE_DIR, ReadOnly: true } as Docker.MountConfig[number] };
}

/** Copies the current shim into the folder (each bridge start: the shim always matches the host's bridge). */
export function refreshShim(paths: BridgePaths, owner?: { uid: number; gid: number }): void {
  const source = shimSource();
  if (!existsSync(source)) return; // not built (e.g. unit tests); the bridge host reports it when it starts
  const tmp = `${paths.shim}.tmp`;
  copyFileSync(source, tmp);
  chmodSync(tmp, 0o755);
  ownBy(tmp, owner);
  renameSync(tmp, paths.shim);
}

export function writeSecretFile(path: string, content: string, owner?: { uid: number; gid: number }): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  ownBy(tmp, owner);
  renameSync(tmp, path);
}

export function readToken(paths: BridgePaths): string | undefined {
  try {
    return readFileSync(paths.token, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function removeBridgeDir(sandboxName: string, root = bridgeRoot()): void {
  rmSync(bridgePaths(sandboxName, root).dir, { recursive: true, force: true });
}
