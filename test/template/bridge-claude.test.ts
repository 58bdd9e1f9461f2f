// Template tier: in the real `claude` image, Claude Code itself sees the bridge that Paddock
// registered in ~/.claude.json, and its health check connects through paddock-mcp.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostSandboxBridge, type HostedBridge } from '../../src/bridge/host.js';
import { cleanup, engine, makeWorkspace, paddockOk } from '../support/sandbox.js';

describe('claude template: the bridge as an MCP server of Claude Code', () => {
  let ws: string;
  let sandbox: string;
  let hosted: HostedBridge | undefined;

  before(async () => {
    ws = makeWorkspace({ 'README.md': '# bridge test\n' }, 'paddock-bridge-claude-');
    sandbox = (await paddockOk(['create', 'claude', ws, '--name', `pbt-claude-${randomBytes(3).toString('hex')}`], { timeoutMs: 900_000 })).stdout.trim();
    hosted = await hostSandboxBridge(engine(), sandbox);
  });
  after(async () => {
    await hosted?.close();
    if (ws) await cleanup(ws);
  });

  it('claude mcp list shows the paddock bridge as connected', async () => {
    const r = await engine().execCapture(sandbox, ['claude', 'mcp', 'list'], { env: { HOME: '/home/agent' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^paddock: \/run\/paddock\/paddock-mcp.*(✓|Connected)/m, r.stdout);
    assert.ok(!existsSync(join(ws, '.mcp.json')), 'nothing was written to the workspace');
  });

  it('and shows it as failed when no bridge host runs (the check is real)', async () => {
    await hosted!.close();
    hosted = undefined;
    const r = await engine().execCapture(sandbox, ['claude', 'mcp', 'list'], { env: { HOME: '/home/agent' } });
    assert.match(r.stdout, /^paddock: .*(✗|Failed)/m, r.stdout);
  });
});
