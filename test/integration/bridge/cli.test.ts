// `paddock bridge --stdio` and `--listen` as editors and scripts use them: the built CLI, a real
// SDK client, real containers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, paddock } from '../../support/sandbox.js';
import { callTool, clientFor, PROJECT, SECRETS, startFixture, type Fixture } from './support.js';

let fx: Fixture;
let dir: string;
let policyFile: string;
before(async () => {
  fx = await startFixture();
  dir = mkdtempSync(join(tmpdir(), 'pbt-cli-'));
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, `tier: moderate\nbridge:\n  containers: ["${PROJECT}"]\n  exec:\n    api: ["echo *"]\n`);
});
after(() => { fx?.cleanup(); if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('paddock bridge (standalone)', () => {
  it('--stdio serves the tools to an MCP client, with the policy file applied', async () => {
    const client = new Client({ name: 'editor', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'bridge', '--stdio', '--policy', policyFile], stderr: 'pipe' }));
    try {
      const list = await callTool(client, 'list_containers');
      assert.match(list.text, new RegExp(fx.api));
      assert.ok(!list.text.includes(fx.outsider));
      const logs = await callTool(client, 'get_logs', { container: 'db' });
      assert.match(logs.text, /ready to accept/);
      assert.ok(!logs.text.includes(SECRETS.dbPassword));
      const exec = await callTool(client, 'exec_command', { container: 'api', command: ['echo', 'ok'] });
      assert.match(exec.text, /^ok\n\[exit code 0\]/);
      const denied = await callTool(client, 'exec_command', { container: 'api', command: 'ls' });
      assert.match(denied.text, /not whitelisted/);
    } finally {
      await client.close();
    }
  });

  it('--listen unix:PATH writes a 0600 socket and token file; the token is required', async () => {
    const socket = join(dir, 'b.sock');
    const child = spawn(process.execPath, [CLI, 'bridge', '--listen', `unix:${socket}`, '--policy', policyFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => (stderr.includes('Token') ? resolve() : child.exitCode !== null ? reject(new Error(stderr)) : setTimeout(check, 50));
        check();
      });
      assert.equal(statSync(socket).mode & 0o777, 0o600);
      assert.equal(statSync(`${socket}.token`).mode & 0o777, 0o600);
      const token = readFileSync(`${socket}.token`, 'utf8').trim();
      await assert.rejects(clientFor(socket, undefined), /401|Unauthorized/);
      const client = await clientFor(socket, token);
      assert.match((await callTool(client, 'list_containers')).text, new RegExp(fx.db));
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    assert.ok(!existsSync(socket), 'the socket is removed on exit');
  });

  it('bad input is refused with a message and changes nothing', async () => {
    const both = await paddock(['bridge', '--stdio', '--policy', policyFile, '--workspace', dir]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /either --workspace or --policy/);
    const missing = await paddock(['bridge', '--stdio', '--policy', join(dir, 'nope.yaml')]);
    assert.match(missing.stderr, /does not exist/);
    writeFileSync(join(dir, 'bad.yaml'), 'tier: lax\n');
    const bad = await paddock(['bridge', '--stdio', '--policy', join(dir, 'bad.yaml')]);
    assert.match(bad.stderr, /not valid[\s\S]*bad\.yaml:1/);
    const noSandbox = await paddock(['bridge', 'log', 'no-such-sandbox-xyz']);
    assert.match(noSandbox.stderr, /No sandbox named/);
  });
});
