// Shared set-up of the bridge fault tests: a real target container and a bridge on a Unix socket
// of its own (its own audit and admission), reached by the real MCP SDK client.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import assert from 'node:assert/strict';
import type { Admission } from '../../../src/bridge/admission.js';
import { AuditLog, readAudit, type AuditEntry } from '../../../src/bridge/audit.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, clientFor, dockerAsync } from '../bridge/support.js';

export interface TargetBridge {
  readonly audit: AuditLog;
  /** A new client session of the bridge (closed by close()). */
  connect(): Promise<Client>;
  close(): Promise<void>;
}

/**
 * Starts `target` (a sleeping container; `runArgs` go to its docker run) and a bridge for sandbox
 * `sandbox` whose moderate tier whitelists `whitelist` there.
 */
export async function bridgeOnTarget(target: string, sandbox: string, whitelist: readonly string[], admission: Admission, runArgs: readonly string[] = []): Promise<TargetBridge> {
  const r = docker(['run', '-d', '--name', target, ...runArgs, BASE_IMAGE, 'sh', '-c', 'exec sleep 2147483647']);
  if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), `${target}-`));
  const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [target], exec: { [target]: whitelist } } });
  const audit = new AuditLog(join(dir, 'audit.jsonl'));
  const token = randomBytes(24).toString('base64url');
  const server = new BridgeHttpServer(token, () => createBridgeServer(new BridgeService(engine().docker, { bridge: policy.bridge, tier: policy.tier }), audit, sandbox, admission));
  const socket = join(dir, 'bridge.sock');
  await server.listen({ kind: 'unix', path: socket });
  const clients: Client[] = [];
  return {
    audit,
    connect: async () => {
      const client = await clientFor(socket, token);
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) await c.close().catch(() => {});
      await server.close();
      docker(['rm', '-f', target]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a test asks of the engine about `target` (never of the bridge), and of the bridge's audit. */
export function targetProbes(target: string, audit: AuditLog) {
  return {
    /** Whether /tmp/`name` exists in the target. */
    inTarget: async (name: string) => (await dockerAsync(['exec', target, 'test', '-e', `/tmp/${name}`])).code === 0,
    /** Command lines of every process in the target's PID namespace. */
    processes: async (): Promise<string[]> => {
      const r = await dockerAsync(['exec', target, 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < $f; echo; done']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    },
    until: async (what: string, ok: () => Promise<boolean> | boolean, ms = 90_000): Promise<void> => {
      for (const deadline = Date.now() + ms; !(await ok());) {
        assert.ok(Date.now() < deadline, what);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** The outcome line of the call whose command makes /tmp/`file`. */
    outcomeOf: (file: string): AuditEntry | undefined =>
      readAudit(audit.file!).find((e) => e.decision !== 'started' && JSON.stringify(e.args).includes(`touch /tmp/${file}`)),
  };
}
