// Bridge calls while the engine is away (a proxy of its socket is cut; the shared engine is never
// restarted): each is audited (started, then its error) and the agent is told the engine stopped
// answering and to have the user start it, not a raw "connect ENOENT".
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog, readAudit } from '../../../src/bridge/audit.js';
import { BridgeHttpServer } from '../../../src/bridge/server.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { createBridgeServer } from '../../../src/bridge/tools.js';
import { policySchema } from '../../../src/core/policy.js';
import { SandboxEngine } from '../../../src/engine/engine.js';
import { EngineProxy } from '../../support/engine-proxy.js';
import { docker } from '../../support/sandbox.js';
import { BASE_IMAGE, callTool, clientFor } from './support.js';

describe('bridge calls during an engine outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbt-outage-'));
  const proxy = new EngineProxy(join(dir, 'docker.sock'));
  const target = `pbt-outage-${process.pid}-${randomBytes(3).toString('hex')}`;
  const token = randomBytes(24).toString('base64url');
  const auditFile = join(dir, 'audit.jsonl');
  let server: BridgeHttpServer;
  let client: Awaited<ReturnType<typeof clientFor>>;

  before(async () => {
    assert.equal(docker(['run', '-d', '--name', target, BASE_IMAGE, 'sh', '-c', 'echo outage-target ready; exec sleep 2147483647']).code, 0);
    await proxy.up();
    const policy = policySchema.parse({ tier: 'moderate', bridge: { containers: [target], exec: { [target]: ['echo *'] } } });
    const service = new BridgeService(SandboxEngine.connect({ host: proxy.host }).docker, { bridge: policy.bridge, tier: policy.tier, knownSecrets: [] });
    server = new BridgeHttpServer(token, () => createBridgeServer(service, new AuditLog(auditFile), 'test'));
    await server.listen({ kind: 'unix', path: join(dir, 'bridge.sock') });
    client = await clientFor(join(dir, 'bridge.sock'), token);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await server?.close();
    await proxy.down().catch(() => {});
    docker(['rm', '-f', target]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('works while the engine answers, then says the engine stopped answering, and audits each call', async () => {
    assert.equal((await callTool(client, 'exec_command', { container: target, command: 'echo before' })).text.split('\n')[0], 'before');
    await proxy.down();
    for (const [tool, args] of [['exec_command', { container: target, command: 'echo during' }], ['get_logs', { container: target }], ['list_containers', {}]] as const) {
      const r = await callTool(client, tool, args);
      assert.equal(r.isError, true, `${tool}: ${r.text}`);
      assert.match(r.text, /the Docker engine stopped answering \(connect ENOENT [^)]*\)\. Ask the user to start it, then retry\./, tool);
    }
    const entries = readAudit(auditFile);
    assert.deepEqual(entries.map((e) => [e.tool, e.decision]), [['exec_command', 'allowed'], ['exec_command', 'error'], ['get_logs', 'error'], ['list_containers', 'error']]);
    await proxy.up();
    assert.equal((await callTool(client, 'exec_command', { container: target, command: 'echo after' })).text.split('\n')[0], 'after');
  });
});
