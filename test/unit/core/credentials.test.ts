import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY_PLACEHOLDER, parseProviderList, planKeyInjection, upstreamUrl } from '../../../src/core/credentials.js';
import { PaddockError } from '../../../src/core/errors.js';
import { ExactRedactor, KEY_MASK } from '../../../src/proxy/inject.js';

const BASE = 'http://paddock-egress:3130';

describe('which keys the proxy injects', () => {
  it('each provider with a key on the host gets a base URL to the proxy and a placeholder; nothing else is touched', () => {
    const plan = planKeyInjection({ ANTHROPIC_API_KEY: 'sk-ant-real', OPENAI_API_KEY: 'sk-proj-real', PATH: '/bin' }, {}, BASE);
    assert.deepEqual(plan.sandboxEnv, {
      ANTHROPIC_BASE_URL: `${BASE}/anthropic`, ANTHROPIC_AUTH_TOKEN: KEY_PLACEHOLDER,
      OPENAI_BASE_URL: `${BASE}/openai`, OPENAI_API_KEY: KEY_PLACEHOLDER,
    });
    assert.deepEqual(plan.keys.map((k) => [k.provider, k.source, k.upstream, k.header, k.value]), [
      ['anthropic', 'ANTHROPIC_API_KEY', 'https://api.anthropic.com', 'x-api-key', 'sk-ant-real'],
      ['openai', 'OPENAI_API_KEY', 'https://api.openai.com/v1', 'authorization', 'Bearer sk-proj-real'],
    ]);
    assert.ok(!Object.values(plan.sandboxEnv).some((v) => v.includes('real')), 'no key value in the sandbox env');
  });

  it('no key on the host, or an empty one: nothing injected, nothing set', () => {
    assert.deepEqual(planKeyInjection({ ANTHROPIC_API_KEY: '  ' }, {}, BASE), { keys: [], sandboxEnv: {}, notes: [] });
  });

  it('a host base URL becomes the upstream (a company gateway); an auth token is sent as bearer', () => {
    const plan = planKeyInjection({ ANTHROPIC_AUTH_TOKEN: 'tok', ANTHROPIC_BASE_URL: 'https://llm.corp.example/anthropic/' }, {}, BASE);
    assert.equal(plan.keys[0].upstream, 'https://llm.corp.example/anthropic');
    assert.equal(plan.keys[0].header, 'authorization');
    assert.equal(plan.keys[0].value, 'Bearer tok');
    const gemini = planKeyInjection({ GOOGLE_API_KEY: 'AIza-x' }, {}, BASE);
    assert.equal(gemini.sandboxEnv.GOOGLE_GEMINI_BASE_URL, `${BASE}/gemini`);
    assert.equal(gemini.keys[0].header, 'x-goog-api-key');
  });

  it('a key or base URL the user sets for the sandbox wins, with a note that says the key is readable inside', () => {
    const plan = planKeyInjection({ ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o' }, { ANTHROPIC_API_KEY: 'a' }, BASE);
    assert.deepEqual(plan.keys.map((k) => k.provider), ['openai']);
    assert.match(plan.notes[0], /ANTHROPIC_API_KEY is set for the sandbox.*readable by the agent/);
    assert.deepEqual(planKeyInjection({ OPENAI_API_KEY: 'o' }, { OPENAI_BASE_URL: 'http://x' }, BASE).keys, []);
  });

  it('a broken host base URL is refused with what to do', () => {
    for (const bad of ['not a url', 'ftp://x', 'https://user:pw@gw.example']) {
      assert.throws(() => planKeyInjection({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: bad }, {}, BASE), (e: unknown) => e instanceof PaddockError && /ANTHROPIC_BASE_URL/.test(e.message));
    }
  });

  it('labels list providers; unknown names are ignored', () => {
    assert.deepEqual(parseProviderList('anthropic,evil, openai'), ['anthropic', 'openai']);
    assert.deepEqual(parseProviderList(undefined), []);
  });
});

describe('the upstream URL of an injected request', () => {
  const key = { upstream: 'https://api.openai.com/v1' };
  it('appends path and query below the base path, keeping the query as written', () => {
    assert.equal(upstreamUrl(key, '/responses?x=a%20b&y=1')!.href, 'https://api.openai.com/v1/responses?x=a%20b&y=1');
    assert.equal(upstreamUrl({ upstream: 'https://api.anthropic.com' }, '/v1/messages?beta=true')!.href, 'https://api.anthropic.com/v1/messages?beta=true');
    assert.equal(upstreamUrl(key, '')!.href, 'https://api.openai.com/v1');
  });
  it('never leaves the base path or the host, however the path is spelled', () => {
    for (const rest of ['/../x', '/a/../../x', '/%2e%2e/x', '/%2E%2e/x', '/.', '/a/%2f/b', '/a%5cb', '/a\\b', 'x', '@evil.test/x', '.evil.test/']) {
      assert.equal(upstreamUrl(key, rest), undefined, rest);
    }
    assert.equal(upstreamUrl(key, '//evil.test/x')!.host, 'api.openai.com');
  });
  it('refuses a fragment, and any path the URL parser takes above the base path ("/..#", tabs in "..")', () => {
    // "/..#" became https://api.openai.com/#: the key went to the base path's parent.
    for (const rest of ['/..#', '/.%2e#', '/%2e%2e#x', '/..#/admin', '/a#b', '/x?y=1#z']) assert.equal(upstreamUrl(key, rest), undefined, rest);
    assert.equal(upstreamUrl({ upstream: 'http://gw.test/openai/v1' }, '/..#'), undefined);
    // Whatever else the parser removes (tabs and line ends) is caught on the path it made.
    for (const rest of ['/.\t.', '/.\n./x', '/\t..', '/..\r']) assert.equal(upstreamUrl({ upstream: 'http://gw.test/openai/v1' }, rest), undefined, JSON.stringify(rest));
    // What stays below the base path still goes.
    assert.equal(upstreamUrl(key, '/models/.x')!.href, 'https://api.openai.com/v1/models/.x');
    assert.equal(upstreamUrl(key, '/..x')!.href, 'https://api.openai.com/v1/..x');
  });
  it('drops a key sent in the query (Gemini\'s ?key=)', () => {
    assert.equal(upstreamUrl({ upstream: 'https://g.example' }, '/v1beta/models?key=AIza-mine&alt=sse', 'key')!.href, 'https://g.example/v1beta/models?alt=sse');
  });
});

describe('masking an echoed key in a stream', () => {
  const run = (secret: string, chunks: string[]) => {
    const r = new ExactRedactor([secret]);
    const out = chunks.map((c) => r.push(Buffer.from(c)).toString()).join('') + r.end().toString();
    return { out, count: r.count };
  };
  it('masks the key whole or split across any chunk boundary', () => {
    const secret = 'sk-ant-0123456789';
    const text = `a ${secret} b ${secret}`;
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 3)]) {
        const { out, count } = run(secret, [text.slice(0, i), text.slice(i, j), text.slice(j)]);
        assert.equal(out, `a ${KEY_MASK} b ${KEY_MASK}`, `cut at ${i},${j}`);
        assert.equal(count, 2);
      }
    }
  });
  it('holds back only what could start the key, so streamed events are not delayed', () => {
    const r = new ExactRedactor(['sk-ant-0123456789']);
    assert.equal(r.push(Buffer.from('data: hello\n\n')).toString(), 'data: hello\n\n');
    assert.equal(r.push(Buffer.from('data: sk-an')).toString(), 'data: ');
    assert.equal(r.push(Buffer.from('other\n')).toString(), 'sk-another\n');
    assert.equal(r.end().length, 0);
  });
});
