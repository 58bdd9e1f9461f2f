// Masking leaks a red team found (2026-12-03), end to end: a real bridge with the workspace's real
// rules (rulesFor in src/bridge/host.ts, reading the hidden files), a real MCP client over the
// socket, real containers. F1: a `data:` / `"data": {` line above output turned off every rule but
// a base64 check for the lines below it. F2: a value the user adds to a hidden .env mid-session was
// never masked. F3: a container created just after a call had its secret env unmasked for up to
// 5 s. F8: inspect showed `"--requirepass", "<value>"`. F5: a log tail starting at the second
// piece of a line the engine cut showed the value without its label.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rulesFor } from '../../../src/bridge/host.js';
import { policySchema } from '../../../src/core/policy.js';
import { docker, engine } from '../../support/sandbox.js';
import { BASE_IMAGE, callTool, connectBridge, dockerAsync, suffix, type Connected, type Fixture } from './support.js';

const name = `pbt-maskmid-${suffix}`;
const lateName = `pbt-maskmid-late-${suffix}`;
const hex = (n: number) => randomBytes(n).toString('hex');
const apiToken = `tok-${hex(10)}`;
const hiddenValue = `svc-${hex(8)}`;
const github = `ghp_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
const urlPassword = `Zq9-${hex(8)}`;
const configPassword = `pw-${hex(8)}`;
const freshValue = `fresh-${hex(8)}`;
const lateToken = `late-${hex(8)}`;
const redisPassword = `R3dis-${hex(8)}`;
const cutValue = `Yk7-${hex(8)}`;

let seed: string;
let workspace: string;
let bridge: Connected;

before(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'pbt-maskmid-ws-'));
  writeFileSync(join(workspace, '.env'), `SERVICE_KEY=${hiddenValue}\n`);
  seed = mkdtempSync(join(tmpdir(), 'pbt-maskmid-seed-'));
  const block = `data:\n  api_token: ${apiToken}\n  hidden: ${hiddenValue}\n  github: ${github}\n  url: postgres://admin:${urlPassword}@db/app\n`;
  writeFileSync(join(seed, 'block.yaml'), block);
  writeFileSync(join(seed, 'hdr.json'), '"data": {\n');
  writeFileSync(join(seed, 'config.json'), `{\n  "password": "${configPassword}",\n  "note": "${hiddenValue}"\n}\n`);
  writeFileSync(join(seed, 'late.txt'), `loaded FEATURE_FLAG_SEED=${freshValue}\n`);
  // The engine (json-file) cuts a line at 16 KiB: this one right after `password=`.
  writeFileSync(join(seed, 'long.txt'), `${'x'.repeat(16375)}password=${cutValue} end\n`);
  chmodSync(seed, 0o755);
  const script = 'cat /seed/block.yaml; cat /seed/long.txt; echo "mask ready"; exec sleep 2147483647';
  // The redis-style flag comes as the script's own arguments: inspect's command shows them.
  const run = docker(['run', '-d', '--name', name, '-v', `${seed}:/seed:ro`, '-e', `API_TOKEN=${apiToken}`, BASE_IMAGE, 'sh', '-c', script, 'sh', '--requirepass', redisPassword]);
  if (run.code !== 0) throw new Error(`docker run failed: ${run.stderr}`);
  for (let i = 0; !docker(['logs', name]).stdout.includes('mask ready'); i++) {
    if (i > 200) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const policy = policySchema.parse({
    tier: 'moderate',
    hide: ['.env'],
    bridge: {
      containers: [`pbt-maskmid-*${suffix}`],
      permissions: { files: true },
      exec: { [name]: ['cat /seed/hdr.json /seed/config.json', 'cat /seed/config.json', 'cat /seed/late.txt'] },
    },
  });
  // The bridge host's own rules for this workspace: its hidden .env is read by the bridge, as in `paddock run`.
  bridge = await connectBridge({ docker: engine().docker } as Fixture, rulesFor(policy, workspace));
});

after(async () => {
  await bridge?.close();
  docker(['rm', '-f', name, lateName]);
  if (seed) rmSync(seed, { recursive: true, force: true });
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

function assertMasked(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where}: ${secret} came back:\n${text}`);
  assert.match(text, /\[MASKED\]/, where);
}

describe('masking through the bridge: blocks, values learned mid-session, new containers, inspect', () => {
  it('F1: lines under a data: label are masked by every rule (get_logs, read_file)', async () => {
    const secrets = [apiToken, hiddenValue, github, urlPassword];
    const logs = await callTool(bridge.client, 'get_logs', { container: name });
    assert.ok(!logs.isError, logs.text);
    assert.match(logs.text, /mask ready/);
    assertMasked(logs.text, secrets, 'get_logs');
    const file = await callTool(bridge.client, 'read_file', { container: name, path: '/seed/block.yaml' });
    assert.ok(!file.isError, file.text);
    assertMasked(file.text, secrets, 'read_file');
    assert.match(file.text, /postgres:\/\/admin:/);
  });

  it('F1: a "data": { header printed before a config does not unmask it (exec_command)', async () => {
    const alone = await callTool(bridge.client, 'exec_command', { container: name, command: 'cat /seed/config.json' });
    assertMasked(alone.text, [configPassword, hiddenValue], 'cat config.json');
    const withHeader = await callTool(bridge.client, 'exec_command', { container: name, command: 'cat /seed/hdr.json /seed/config.json' });
    assert.match(withHeader.text, /exit code 0/);
    assertMasked(withHeader.text, [configPassword, hiddenValue], 'cat hdr.json config.json');
  });

  it('F2: a value the user adds to the hidden .env mid-session is masked from the next call on', async () => {
    const before = await callTool(bridge.client, 'exec_command', { container: name, command: 'cat /seed/late.txt' });
    assert.ok(before.text.includes(freshValue), `not a secret yet (no rule knows it): ${before.text}`);
    appendFileSync(join(workspace, '.env'), `FEATURE_FLAG_SEED=${freshValue}\n`);
    await new Promise((r) => setTimeout(r, 300));
    const after = await callTool(bridge.client, 'exec_command', { container: name, command: 'cat /seed/late.txt' });
    assertMasked(after.text, [freshValue], 'after the .env changed');
  });

  it('F3: a container created after the last refresh has its secret env masked on the first call', async (t) => {
    await callTool(bridge.client, 'list_containers');
    const since = Date.now();
    const run = await dockerAsync(['run', '-d', '--name', lateName, '-e', `LATE_TOKEN=${lateToken}`, BASE_IMAGE, 'sh', '-c', 'echo "late token is $LATE_TOKEN"; exec sleep 2147483647']);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; !(await dockerAsync(['logs', lateName])).stdout.includes('late token'); i++) {
      assert.ok(i < 200, `${lateName} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const logs = await callTool(bridge.client, 'get_logs', { container: lateName });
    // On a loaded engine the start may outlast the 5 s refresh, and the old code masked it too then; the
    // value must be masked either way (a skip would fail the run), so the case only loses its edge.
    if (Date.now() - since > 4500) t.diagnostic(`the container took ${Date.now() - since} ms to start: past the refresh interval`);
    assert.match(logs.text, /late token is/);
    assertMasked(logs.text, [lateToken], 'get_logs of the new container');
  });

  it('F5: a get_logs or search_logs tail that starts inside a line the engine cut shows no value', async () => {
    for (const tail of [1, 2, 3, 4]) {
      const logs = await callTool(bridge.client, 'get_logs', { container: name, tail });
      assert.ok(!logs.isError, logs.text);
      assert.match(logs.text, /mask ready/);
      assert.ok(!logs.text.includes(cutValue), `get_logs tail ${tail}: ${logs.text.slice(-300)}`);
      const search = await callTool(bridge.client, 'search_logs', { container: name, pattern: 'end|ready', tail });
      assert.ok(!search.text.includes(cutValue), `search_logs tail ${tail}: ${search.text.slice(-300)}`);
    }
  });

  it("F8: inspect_container's command shows no value after --requirepass", async () => {
    const inspect = await callTool(bridge.client, 'inspect_container', { container: name });
    assert.ok(!inspect.isError, inspect.text);
    assertMasked(inspect.text, [redisPassword, apiToken], 'inspect_container');
    assert.match(inspect.text, /"--requirepass",\s*"\[MASKED\]"/);
  });
});
