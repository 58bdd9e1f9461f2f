// Template tier: real Claude Code in the real `claude` image talks to "Anthropic" through the key
// injection of its sandbox's egress proxy. The API is a local stand-in (api.anthropic.test, on the
// test's own --internal network, named by the host's ANTHROPIC_BASE_URL); the real key is only in
// the host's environment. No traffic leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk, REPO } from '../support/sandbox.js';
import { baseImage } from '../integration/network/support.js';

describe('claude template: Claude Code uses an API key it cannot see', () => {
  const id = randomBytes(3).toString('hex');
  const network = `paddock-keytest-${id}`;
  const api = `paddock-fake-anthropic-${id}`;
  const key = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;
  let ws: string;
  let sandbox: string;

  before(async () => {
    const image = await baseImage();
    assert.equal(docker(['network', 'create', '--internal', network]).code, 0);
    const run = docker(['run', '-d', '--name', api, '--network', network, '--network-alias', 'api.anthropic.test', '-e', `KEY=${key}`,
      '-v', `${join(REPO, 'test', 'template', 'fixtures')}:/fixtures:ro`, image, 'node', '/fixtures/fake-anthropic.js']);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 100 && !docker(['logs', api]).stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
    ws = makeWorkspace({ 'README.md': '# keys test\n' }, 'paddock-keys-claude-');
    const env = { PADDOCK_EGRESS_NETWORK: network, ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: 'http://api.anthropic.test' };
    sandbox = (await paddockOk(['create', 'claude', ws], { env, timeoutMs: 900_000 })).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
    docker(['rm', '-f', api]);
    docker(['network', 'rm', network]);
  });

  it('claude -p gets its (streamed) answer, and the API received the real key', async () => {
    const r = await paddock(['exec', sandbox, '--', 'claude', '-p', 'say hi'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PADDOCK-FAKE-ANSWER key=real/);
    assert.match(docker(['logs', api]).stdout, /^POST \/v1\/messages\S* real$/m);
    const log = (await paddockOk(['network', 'log', sandbox, '--json'])).stdout;
    assert.ok((JSON.parse(log) as { rule: string; host: string }[]).some((e) => e.rule === 'key injection: anthropic (ANTHROPIC_API_KEY)' && e.host === 'api.anthropic.test'));
  });

  it('the key is not in Claude Code\'s environment, its config, or anywhere in the sandbox', async () => {
    const r = docker(['exec', '-u', 'root', sandbox, 'sh', '-c', `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c '${key}'; grep -rIl '${key}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | wc -l`]);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', '0']);
  });
});
