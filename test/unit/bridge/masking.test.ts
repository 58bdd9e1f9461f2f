import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envFileValues, isSecretName, MASK, Masker } from '../../../src/core/masking.js';
import { CORPUS, KNOWN_SECRET } from './corpus.js';

const masker = new Masker({ knownSecrets: [KNOWN_SECRET] });

describe('masking corpus', () => {
  for (const entry of CORPUS) {
    it(`masks ${entry.name}`, () => {
      const out = masker.mask(`before\n${entry.text}\nafter\n`);
      assert.ok(!out.includes(entry.secret), `secret came back: ${out}`);
      assert.ok(out.includes('before') && out.includes('after'), 'surrounding output is kept');
      assert.ok(out.includes('[MASKED'), out);
    });

    it(`masks ${entry.name} split across chunks at every position`, () => {
      const text = `x ${entry.text} y\n`;
      for (let cut = 1; cut < text.length; cut++) {
        const stream = masker.stream();
        const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.end();
        assert.ok(!out.includes(entry.secret), `secret came back with a cut at ${cut}: ${out}`);
      }
    });
  }

  it('masks exact known secret values wherever they appear, also byte by byte', () => {
    const text = `value is ${KNOWN_SECRET}, again:${KNOWN_SECRET}\n`;
    const stream = masker.stream();
    let out = '';
    for (const ch of text) out += stream.push(ch);
    out += stream.end();
    assert.ok(!out.includes(KNOWN_SECRET));
    assert.equal(out, `value is ${MASK}, again:${MASK}\n`);
  });

  it('keeps ordinary output as it is', () => {
    const text = 'GET /health 200 3ms\nuser=alice id=42 status=ok\nhttps://example.com/path?q=1\ntokens_used 5\n';
    assert.equal(masker.mask(text), text);
  });

  it('counts what it masked, by rule', () => {
    const stats = { count: 0, rules: {} as Record<string, number> };
    masker.mask('PASSWORD=abcdefgh\nredis://u:longpassword@h\n', stats);
    assert.equal(stats.count, 2);
    assert.deepEqual(Object.keys(stats.rules).sort(), ['secret-assignment', 'url-credentials']);
  });

  it('masks a secret in a very long line without newlines (cut at a safe place)', () => {
    const filler = 'word '.repeat(30_000);
    const text = `${filler}password=Sup3rS3cretValue ${filler}`;
    const stream = masker.stream();
    let out = '';
    for (let i = 0; i < text.length; i += 4096) out += stream.push(text.slice(i, i + 4096));
    out += stream.end();
    assert.ok(!out.includes('Sup3rS3cretValue'));
    assert.equal(out.length, text.length - 'Sup3rS3cretValue'.length + MASK.length);
  });

  it('an unterminated private key block swallows the rest (fails closed)', () => {
    const out = masker.mask('ok\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\nsecretline\n');
    assert.equal(out, 'ok\n[MASKED private key]');
  });
});

describe('secret names and env files', () => {
  it('recognises secret-like variable names', () => {
    for (const n of ['DB_PASSWORD', 'API_KEY', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'STRIPE_SECRET', 'DATABASE_URL', 'PGPASSWORD', 'client_secret']) assert.ok(isSecretName(n), n);
    for (const n of ['PATH', 'HOME', 'NODE_ENV', 'PORT', 'HOSTNAME']) assert.ok(!isSecretName(n), n);
  });

  it('reads the values of a .env file', () => {
    assert.deepEqual(envFileValues('# c\nA=1\nexport B="two words"\nC=\'x\'\n\nD=\n'), ['1', 'two words', 'x']);
  });
});
