// Masking of real-world formats on the real engine, from the attacker's side: a container prints
// credentials in many formats (cloud connection strings, signed URLs, cookies, netrc, pgpass,
// Kubernetes secrets, webhooks, next-line values, key bodies without BEGIN), the values of hidden
// workspace files in encoded forms, and a token split by the engine's log framing. What an agent
// gets through the bridge (a real MCP client over the real socket) must hold none of the secrets.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hiddenSecretValues } from '../../../src/bridge/host.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { STRUCTURE_CORPUS } from '../../unit/bridge/corpus.js';
import { BASE_IMAGE, callTool, connectBridge, suffix, type Connected, type Fixture } from './support.js';

const name = `pbt-mask-${suffix}`;
const tokenValue = `tok_${randomBytes(12).toString('hex')}`;
const envValue = `Env-${randomBytes(8).toString('hex')}`;
const splitToken = `ghp_${randomBytes(18).toString('hex')}`;
const slowSecret = `slow-${randomBytes(8).toString('hex')}`;
const sasSig = encodeURIComponent(randomBytes(32).toString('base64'));

let seed: string;
let workspace: string;
let bridge: Connected;
let knownSecrets: string[];

/** The known values in the forms output carries them: plain, base64 (alone and inside a payload), URL-encoded. */
const knownForms = () => [
  tokenValue, envValue,
  Buffer.from(tokenValue).toString('base64'),
  Buffer.from(`deploy:${envValue}`).toString('base64'),
  encodeURIComponent(`${envValue} x`),
];

before(async () => {
  // A workspace whose hidden files hold a .env with an inline comment and a plain token file.
  workspace = mkdtempSync(join(tmpdir(), 'pbt-mask-ws-'));
  writeFileSync(join(workspace, '.env'), `SERVICE_KEY=${envValue} # rotated monthly\n`);
  mkdirSync(join(workspace, 'secrets'));
  writeFileSync(join(workspace, 'secrets', 'token'), `${tokenValue}\n`);
  const policy = policySchema.parse({ hide: ['.env', 'secrets/**'] });
  knownSecrets = hiddenSecretValues(workspace, policy);

  seed = mkdtempSync(join(tmpdir(), 'pbt-mask-seed-'));
  writeFileSync(join(seed, 'formats.txt'), `${STRUCTURE_CORPUS.map((e) => e.text).join('\nnext format\n')}\n`);
  writeFileSync(join(seed, 'known.txt'), `${knownForms().map((f) => `value: ${f}`).join('\n')}\n`);
  // One line longer than the engine's 16 KiB log buffer, with a token across the cut.
  writeFileSync(join(seed, 'long.txt'), `${'x'.repeat(16 * 1024 - 20)}${splitToken} end\n`);
  writeFileSync(join(seed, 'slow.sh'), `for c in $(echo ${slowSecret} | fold -w1); do printf %s "$c"; sleep 0.3; done\n`);
  chmodSync(seed, 0o755);
  const script = [
    'cat /seed/formats.txt', 'cat /seed/known.txt >&2', 'cat /seed/long.txt', 'echo "stderr between" >&2',
    'cp /seed/slow.sh /tmp/slow.sh', 'echo "mask ready"', 'exec sleep 2147483647',
  ].join('\n');
  const run = docker(['run', '-d', '--name', name, '-v', `${seed}:/seed:ro`, '-e', `STORAGE_URL=https://a1.blob.core.windows.net/c?sv=2022-11-02&sig=${sasSig}`, BASE_IMAGE, 'sh', '-c', script]);
  if (run.code !== 0) throw new Error(`docker run failed: ${run.stderr}`);
  for (let i = 0; !docker(['logs', name]).stdout.includes('mask ready'); i++) {
    if (i > 200) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const rules = policySchema.parse({
    tier: 'moderate',
    bridge: { containers: [name], permissions: { files: true }, exec: { [name]: ['cat /seed/formats.txt', 'cat /seed/known.txt', 'sh /tmp/slow.sh'] } },
  });
  // connectBridge reads only the engine client from a fixture.
  bridge = await connectBridge({ docker: engine().docker } as Fixture, { bridge: rules.bridge, tier: rules.tier, knownSecrets });
});

after(async () => {
  await bridge?.close();
  docker(['rm', '-f', name]);
  if (seed) rmSync(seed, { recursive: true, force: true });
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

function assertNoSecret(text: string, where: string): void {
  for (const entry of STRUCTURE_CORPUS) assert.ok(!text.includes(entry.secret), `${where}: the ${entry.name} secret came back`);
  for (const form of knownForms()) assert.ok(!text.includes(form), `${where}: the known value form ${form} came back`);
}

describe('masking of real-world formats through the bridge', () => {
  it('learned every hidden file whole: a value with an inline comment and a plain token file', () => {
    assert.ok(knownSecrets.includes(envValue), JSON.stringify(knownSecrets));
    assert.ok(knownSecrets.includes(tokenValue), JSON.stringify(knownSecrets));
  });

  it('get_logs holds none of the secrets, and the labels stay readable', async () => {
    const logs = await callTool(bridge.client, 'get_logs', { container: name, tail: 2000 });
    assert.ok(!logs.isError, logs.text);
    assert.match(logs.text, /mask ready/);
    assertNoSecret(logs.text, 'get_logs');
    for (const entry of STRUCTURE_CORPUS) if (entry.keep) assert.ok(logs.text.includes(entry.keep), `label "${entry.keep}" of ${entry.name} is gone`);
  });

  it('a token split by the engine at its 16 KiB log buffer is masked, with and without timestamps', async () => {
    for (const timestamps of [false, true]) {
      const logs = await callTool(bridge.client, 'get_logs', { container: name, tail: 2000, timestamps });
      assert.ok(!logs.isError, logs.text);
      assert.match(logs.text, / end/);
      for (const piece of [splitToken, splitToken.slice(0, 14), splitToken.slice(-14)]) assert.ok(!logs.text.includes(piece), `timestamps ${timestamps}: ${piece} came back`);
    }
  });

  it('search_logs cannot find a secret by its characters', async () => {
    for (const pattern of [tokenValue.slice(0, 10), envValue.slice(0, 10), splitToken.slice(0, 10)]) {
      const hit = await callTool(bridge.client, 'search_logs', { container: name, pattern });
      assert.match(hit.text, /^No line of .* matches/, `${pattern} found a line: ${hit.text}`);
    }
  });

  it('exec_command output holds none of the secrets', async () => {
    for (const command of ['cat /seed/formats.txt', 'cat /seed/known.txt']) {
      const out = await callTool(bridge.client, 'exec_command', { container: name, command });
      assert.ok(!out.isError, out.text);
      assert.match(out.text, /exit code 0/);
      assertNoSecret(out.text, command);
    }
  });

  it('read_file holds none of the secrets, and a read cut inside a known value leaves no prefix of it', async () => {
    const whole = await callTool(bridge.client, 'read_file', { container: name, path: '/seed/known.txt' });
    assert.ok(!whole.isError, whole.text);
    assertNoSecret(whole.text, 'read_file');
    // Cut 6 characters into the token: the first line is "value: tok_...".
    const cut = await callTool(bridge.client, 'read_file', { container: name, path: '/seed/known.txt', maxBytes: 'value: '.length + 6 });
    assert.match(cut.text, /truncated/);
    assert.ok(!cut.text.includes(tokenValue.slice(0, 4)), cut.text);
  });

  it('an exec stopped by its timeout while a secret is being printed leaves no prefix of it', async () => {
    const bridgeWithSlow = await connectBridge({ docker: engine().docker } as Fixture, {
      ...policySchema.parse({ tier: 'moderate', bridge: { containers: [name], exec: { [name]: ['sh /tmp/slow.sh'] } } }),
      knownSecrets: [slowSecret],
    });
    try {
      const out = await callTool(bridgeWithSlow.client, 'exec_command', { container: name, command: 'sh /tmp/slow.sh', timeout: 2 });
      assert.match(out.text, /stopped waiting/);
      assert.ok(!out.text.includes(slowSecret.slice(0, 3)), out.text);
    } finally {
      await bridgeWithSlow.close();
    }
  });

  it('inspect_container masks a signed URL in an env var that has no secret name', async () => {
    const info = await callTool(bridge.client, 'inspect_container', { container: name });
    assert.ok(!info.isError, info.text);
    assert.ok(info.text.includes('STORAGE_URL=https://a1.blob.core.windows.net/c?sv=2022-11-02'), info.text);
    assert.ok(!info.text.includes(sasSig), info.text);
  });
});
