// Template tier: the real agent CLIs in their real images use API keys they cannot see. Each
// sandbox's egress proxy injects the key; the APIs are local stand-ins (api.fake.test on the
// test's own --internal network, named by the host's base-URL variables, as a company gateway would
// be). `paddock run` is what a user types: it hosts the bridge, writes the agents' home config
// (Codex's base URL, Gemini's API-key mode) and runs the agent. No traffic leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk, REPO } from '../support/sandbox.js';
import { baseImage } from '../integration/network/support.js';
import { networkRoot } from '../../src/engine/egressFiles.js';
import { serviceName } from '../../src/engine/egressService.js';

const keys = {
  anthropic: `sk-ant-api03-${randomBytes(24).toString('base64url')}`,
  openai: `sk-proj-${randomBytes(24).toString('base64url')}`,
  gemini: `AIza${randomBytes(18).toString('base64url')}`,
};

describe('agent templates: Claude Code, Codex and Gemini CLI use API keys they cannot see', () => {
  const id = randomBytes(3).toString('hex');
  const network = `paddock-keytest-${id}`;
  const api = `paddock-fake-providers-${id}`;
  const hostEnv = {
    PADDOCK_EGRESS_NETWORK: network,
    ANTHROPIC_API_KEY: keys.anthropic, ANTHROPIC_BASE_URL: 'http://api.fake.test',
    OPENAI_API_KEY: keys.openai, OPENAI_BASE_URL: 'http://api.fake.test/v1',
    GEMINI_API_KEY: keys.gemini, GOOGLE_GEMINI_BASE_URL: 'http://api.fake.test',
  };
  let ws: string;

  before(async () => {
    const image = await baseImage();
    assert.equal(docker(['network', 'create', '--internal', network]).code, 0);
    const run = docker(['run', '-d', '--name', api, '--network', network, '--network-alias', 'api.fake.test',
      '-e', `ANTHROPIC=${keys.anthropic}`, '-e', `OPENAI=${keys.openai}`, '-e', `GEMINI=${keys.gemini}`,
      '-v', `${join(REPO, 'test', 'template', 'fixtures')}:/fixtures:ro`, image, 'node', '/fixtures/fake-providers.js']);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 100 && !docker(['logs', api]).stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
    ws = makeWorkspace({ 'README.md': '# keys test\n' }, 'paddock-keys-agents-');
  });
  after(async () => {
    if (ws) await cleanup(ws);
    docker(['rm', '-f', api]);
    // The egress service that went out through the test's network sits on it: it goes first, or the
    // network stays (and each run would leave a network and a service behind).
    docker(['rm', '-f', serviceName(networkRoot(), network)]);
    docker(['network', 'rm', network]);
  });

  const cases: { agent: string; provider: keyof typeof keys; args: string[] }[] = [
    { agent: 'claude', provider: 'anthropic', args: ['-p', 'say hi'] },
    { agent: 'codex', provider: 'openai', args: ['exec', '--skip-git-repo-check', 'say hi'] },
    { agent: 'gemini', provider: 'gemini', args: ['--skip-trust', '-p', 'say hi'] },
  ];
  for (const { agent, provider, args } of cases) {
    it(`${agent}: paddock run gets the answer through the proxy, which sent the real key; the key is nowhere in the sandbox`, async () => {
      const r = await paddock(['run', agent, ws, '--', ...args], { env: hostEnv, timeoutMs: 900_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /PADDOCK-FAKE-ANSWER key=real/);
      const seen = docker(['logs', api]).stdout;
      assert.match(seen, new RegExp(`^POST \\S+ ${provider}=real$`, 'm'));
      assert.doesNotMatch(seen, new RegExp(`${provider}=wrong`));
      const sandbox = (await paddockOk(['ls', '--json'])).stdout;
      const name = (JSON.parse(sandbox) as { name: string; workspace: string; agent: string }[]).find((s) => s.workspace === ws && s.agent === agent)!.name;
      const search = docker(['exec', '-u', 'root', name, 'sh', '-c', `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c '${keys[provider]}'; grep -rIl '${keys[provider]}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | wc -l`]);
      assert.deepEqual(search.stdout.trim().split('\n'), ['0', '0']);
    });
  }
});
