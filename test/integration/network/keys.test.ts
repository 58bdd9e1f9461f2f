// API keys stay outside the sandbox: its egress proxy injects them. The "provider" is a local
// container (api.provider.test on the test's own --internal network) that reports which credential
// it received, without ever sending a key back (except /echo-key, which reflects it on purpose to
// show the proxy masks it). The host's ANTHROPIC_BASE_URL / OPENAI_BASE_URL point at it, as they
// would at a company gateway. No traffic leaves this machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { KEY_PLACEHOLDER } from '../../../src/core/credentials.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from './support.js';

const ANTHROPIC_KEY = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;
const ROTATED_KEY = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;
const OPENAI_KEY = `sk-proj-${randomBytes(24).toString('base64url')}`;

// Reports what arrived: which known key (by name, never the value), the path, the Host header, and
// whether the sandbox's placeholder or its own attempted credential got through.
const PROVIDER = `
const http = require('http');
const known = { [process.env.A]: 'anthropic', [process.env.R]: 'rotated', [process.env.O]: 'openai' };
const strip = (v) => (v || '').replace(/^Bearer /, '');
http.createServer((q, s) => {
  let body = ''; q.on('data', (c) => body += c); q.on('end', () => {
    if (q.url.startsWith('/echo-key')) { s.end('you sent ' + strip(q.headers['x-api-key'] || q.headers.authorization) + '\\n'); return; }
    if (q.url.startsWith('/sse')) {
      s.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0; const t = setInterval(() => { s.write('data: event ' + (++n) + '\\n\\n'); if (n === 3) { clearInterval(t); s.end(); } }, 50);
      return;
    }
    const creds = ['x-api-key', 'authorization', 'x-goog-api-key'].filter((h) => q.headers[h]).map((h) => h + '=' + (known[strip(q.headers[h])] || (strip(q.headers[h]) === process.env.P ? 'placeholder' : 'other')));
    s.setHeader('content-type', 'application/json');
    s.end(JSON.stringify({ path: q.url, host: q.headers.host, creds, body, leaked: JSON.stringify(q.headers).includes(process.env.P) }) + '\\n');
  });
}).listen(80, () => console.log('provider ready'));
`;

describe('API keys injected by the egress proxy, never inside the sandbox', () => {
  let net: LocalInternet;
  let ws: string;
  let sb: string;
  const provider = `paddock-keytest-${randomBytes(3).toString('hex')}`;
  const hostEnv = { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: 'http://api.provider.test', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://api.provider.test/v1' };
  const sh = (command: string, env: Record<string, string> = {}) => paddock(['exec', sb, '--', 'sh', '-c', command], { env });
  const curl = async (args: string) => JSON.parse((await sh(`curl -s --max-time 10 ${args}`)).stdout);

  before(async () => {
    net = await useLocalInternet('paddock-keystate-');
    const run = docker(['run', '-d', '--name', provider, '--network', net.network, '--network-alias', 'api.provider.test',
      '-e', `A=${ANTHROPIC_KEY}`, '-e', `R=${ROTATED_KEY}`, '-e', `O=${OPENAI_KEY}`, '-e', `P=${KEY_PLACEHOLDER}`, net.image, 'node', '-e', PROVIDER]);
    assert.equal(run.code, 0, run.stderr);
    for (let i = 0; i < 100 && !docker(['logs', provider]).stdout.includes('provider ready'); i++) await new Promise((r) => setTimeout(r, 100));
    ws = makeWorkspace();
    const created = await paddockOk(['create', 'shell', ws], { env: hostEnv });
    sb = created.stdout.trim();
    assert.match(created.stderr, /ANTHROPIC_API_KEY stays on the host: .*api\.provider\.test/);
    assert.match(created.stderr, /OPENAI_API_KEY stays on the host/);
  });

  after(async () => {
    if (ws) await cleanup(ws);
    docker(['rm', '-f', provider]);
    net?.stop();
  });

  it('the sandbox has the proxy as base URL and a placeholder; the keys are nowhere inside, not even for root', async () => {
    const env = (await sh('env')).stdout;
    assert.match(env, /^ANTHROPIC_BASE_URL=http:\/\/paddock-egress:3130\/anthropic$/m);
    assert.match(env, new RegExp(`^ANTHROPIC_AUTH_TOKEN=${KEY_PLACEHOLDER}$`, 'm'));
    assert.match(env, /^OPENAI_BASE_URL=http:\/\/paddock-egress:3130\/openai$/m);
    assert.match(env, new RegExp(`^OPENAI_API_KEY=${KEY_PLACEHOLDER}$`, 'm'));
    assert.doesNotMatch(env, /^ANTHROPIC_API_KEY=/m);
    const search = docker(['exec', '-u', 'root', sb, 'sh', '-c', `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; grep -rIl -e '${ANTHROPIC_KEY}' -e '${OPENAI_KEY}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; echo done`]);
    assert.match(search.stdout, /done\n$/);
    for (const key of [ANTHROPIC_KEY, OPENAI_KEY]) assert.ok(!search.stdout.includes(key), 'no key in any process environment or file of the sandbox');
    const inspect = JSON.parse((await paddockOk(['inspect', sb, '--json'])).stdout);
    assert.deepEqual(inspect.injectedKeys, ['anthropic', 'openai']);
    assert.ok(!JSON.stringify(inspect).includes(ANTHROPIC_KEY));
  });

  it('an agent\'s request with the placeholder reaches the provider with the real key; path, query and body pass unchanged', async () => {
    const a = await curl('-H "x-api-key: $ANTHROPIC_AUTH_TOKEN" -H "anthropic-version: 2023-06-01" -d \'{"model":"m"}\' "$ANTHROPIC_BASE_URL/v1/messages?beta=true"');
    assert.deepEqual(a.creds, ['x-api-key=anthropic']);
    assert.equal(a.path, '/v1/messages?beta=true');
    assert.equal(a.host, 'api.provider.test');
    assert.equal(a.body, '{"model":"m"}');
    assert.equal(a.leaked, false, 'the placeholder is not forwarded');
    // Codex's shape: a bearer token, and a base URL with a path (/v1).
    const o = await curl('-H "Authorization: Bearer $OPENAI_API_KEY" "$OPENAI_BASE_URL/responses"');
    assert.deepEqual(o.creds, ['authorization=openai']);
    assert.equal(o.path, '/v1/responses');
  });

  it('from the attacker\'s side: own credentials are replaced, the upstream cannot be changed, unknown providers and missing keys are refused', async () => {
    const own = await curl('-H "x-api-key: sk-ant-somebody-elses" -H "Authorization: Bearer stolen" -H "Host: blocked.test" "$ANTHROPIC_BASE_URL/v1/models"');
    assert.deepEqual(own.creds, ['x-api-key=anthropic'], 'only the injected key arrives');
    assert.equal(own.host, 'api.provider.test');
    const status = async (target: string, extra = '') => (await sh(`curl -s -o /dev/null -w '%{http_code}' --path-as-is --max-time 10 ${extra} '${target}'`)).stdout.trim();
    assert.equal(await status('http://paddock-egress:3130/anthropic/../openai/responses'), '400');
    assert.equal(await status('http://paddock-egress:3130/anthropic/%2e%2e/x'), '400');
    assert.equal(await status('http://paddock-egress:3130/anthropic%2f..%2f..%2fx'), '400');
    assert.equal(await status('http://paddock-egress:3130/evil/x'), '404');
    assert.equal(await status('http://paddock-egress:3130/gemini/v1beta/models'), '503', 'no Gemini key on the host');
    // A proxy-style request (absolute URL) aimed at another host through the injecting port.
    assert.equal(await status('http://blocked.test/', '--proxy http://paddock-egress:3130'), '400');
    const body = (await sh('curl -s --max-time 10 http://paddock-egress:3130/gemini/x')).stdout;
    assert.match(body, /no Google Gemini .* key .* Set GEMINI_API_KEY or GOOGLE_API_KEY/);
  });

  it('a provider that echoes the key back gets it masked; streamed answers arrive whole', async () => {
    const echoed = (await sh('curl -s --max-time 10 -H "x-api-key: $ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_BASE_URL/echo-key"')).stdout;
    assert.equal(echoed, 'you sent [PADDOCK-MASKED-KEY]\n');
    const sse = (await sh('curl -sN --max-time 10 "$ANTHROPIC_BASE_URL/sse"')).stdout;
    assert.equal(sse, 'data: event 1\n\ndata: event 2\n\ndata: event 3\n\n');
  });

  it('the egress log records injected requests by rule, never the key; the keys file is private to the host user', async () => {
    const log = readFileSync(egressPaths(sb).log, 'utf8');
    assert.match(log, /"rule":"key injection: anthropic \(ANTHROPIC_API_KEY\)"/);
    assert.match(log, /"host":"api.provider.test".*"decision":"allow"/);
    assert.match(log, /"decision":"deny","rule":"no gemini key"/);
    assert.ok(!log.includes(ANTHROPIC_KEY) && !log.includes(OPENAI_KEY));
    const text = (await paddockOk(['network', 'log', sb])).stdout;
    assert.match(text, /key injection: openai \(OPENAI_API_KEY\)/);
    const mode = docker(['run', '--rm', '-v', `${egressPaths(sb).keysDir}:/k:ro`, net.image, 'stat', '-c', '%a', '/k/keys.json']).stdout.trim();
    assert.equal(mode, '600');
  });

  it('a rotated key takes effect at the next start, without a recreate', async () => {
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb], { env: { ...hostEnv, ANTHROPIC_API_KEY: ROTATED_KEY } });
    const a = await curl('"$ANTHROPIC_BASE_URL/v1/messages"');
    assert.deepEqual(a.creds, ['x-api-key=rotated']);
    // A start whose environment has no key keeps the one from before.
    await paddockOk(['stop', sb]);
    await paddockOk(['start', sb], { env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '' } });
    assert.deepEqual((await curl('"$ANTHROPIC_BASE_URL/v1/messages"')).creds, ['x-api-key=rotated']);
  });

  it('--no-inject-keys leaves the keys out entirely; -e KEY puts it inside on purpose, with a note', async () => {
    const other = makeWorkspace();
    try {
      const none = (await paddockOk(['create', 'shell', other, '--no-inject-keys'], { env: hostEnv })).stdout.trim();
      const env = (await paddock(['exec', none, '--', 'env'])).stdout;
      assert.doesNotMatch(env, /ANTHROPIC|OPENAI/);
      await paddockOk(['rm', none]);
      const inside = await paddockOk(['create', 'shell', other, '-e', 'ANTHROPIC_API_KEY'], { env: hostEnv });
      assert.match(inside.stderr, /ANTHROPIC_API_KEY is set for the sandbox, so Paddock does not inject the Anthropic .* key/);
      const env2 = (await paddock(['exec', inside.stdout.trim(), '--', 'env'])).stdout;
      assert.match(env2, new RegExp(`^ANTHROPIC_API_KEY=${ANTHROPIC_KEY}$`, 'm'));
      assert.match(env2, /^OPENAI_BASE_URL=http:\/\/paddock-egress:3130\/openai$/m, 'the other provider is still injected');
    } finally {
      await cleanup(other);
    }
  });
});
