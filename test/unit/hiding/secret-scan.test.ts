import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { entropy, scanFile, scanText, shouldScan } from '../../../src/core/secret-scan.js';
import { removeTrees, tree } from './support.js';

after(removeTrees);
// Credentials are assembled at run time so this file does not itself look like one.
const k = (...parts: string[]) => parts.join('');
const RANDOM40 = 'q8Rz3Lm0Vx7Tn2Bw5Kc9Jd4Hf6Gs1Py8Ua3Ei0Oo';
const rules = (text: string) => scanText(text).map((h) => h.rule);

describe('credential detectors', () => {
  const positives: [string, string][] = [
    ['private-key', k('-----BEGIN ', 'RSA PRIVATE KEY-----\nMIIEow...\n')],
    ['private-key', k('-----BEGIN ', 'OPENSSH PRIVATE KEY-----')],
    ['private-key', k('{"type": "service_account", "private_key": "-----BEGIN ', 'PRIVATE KEY-----\\nMII..."}')],
    ['aws-access-key', k('aws_access_key_id = AKIA', 'Q7ZK4N2M8P3R5T6W')],
    ['aws-secret-key', k('aws_secret_access_key=', RANDOM40)],
    ['github-token', k('token: ghp_', 'a'.repeat(10), RANDOM40.slice(0, 26))],
    ['github-token', k('github_pat_', '11ABCDEFG0', RANDOM40)],
    ['anthropic-key', k('ANTHROPIC_API_KEY=sk-ant-', 'api03-', RANDOM40)],
    ['openai-key', k('OPENAI_API_KEY=sk-proj-', RANDOM40)],
    ['slack-token', k('xoxb-', '1234567890-abcdefghij')],
    ['stripe-key', k('sk_', 'live_', RANDOM40.slice(0, 24))],
    ['google-api-key', k('AIza', RANDOM40.slice(0, 35))],
    ['npm-auth', k('//npm.internal.example/:_authToken=', RANDOM40.slice(0, 36))],
    ['url-credentials', 'DATABASE_URL=postgres://app:' + 'Xk92mPq7@db.internal:5432/app'],
    ['url-credentials', 'broker: amqp://user:' + 's3cr3tPass@rabbit:5672/'],
    ['auth-header', 'curl -H "Authorization: Basic ' + 'dXNlcjpwYXNzd29yZDEyMw=="'],
    ['jwt', k('eyJhbGciOiJIUzI1NiJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U')],
    ['secret-assignment', '{"password": "' + 'Tr0ub4dor&3x"}'],
    ['secret-assignment', 'DB_PASSWORD=' + 'hT9#kLq2vX\n'],
    ['secret-assignment', "client_secret: '" + "8f3Kq1ZpR7sV'\n"],
  ];
  for (const [rule, text] of positives) {
    it(`finds ${rule} in ${JSON.stringify(text.slice(0, 40))}…`, () => assert.ok(rules(text).includes(rule), `got ${rules(text).join(',') || 'nothing'}`));
  }

  const negatives: [string, string][] = [
    ['an AWS documentation example key', k('AKIA', 'IOSFODNN7EXAMPLE')],
    ['an env reference', 'password: ${DB_PASSWORD}\napi_key = process.env.API_KEY\n'],
    ['a placeholder', 'API_KEY=your-api-key-here\npassword: changeme\ntoken = <token>\n'],
    ['a URL without a password', 'https://user@example.com/x and postgres://localhost/db'],
    ['a URL with a placeholder password', 'postgres://app:${PASSWORD}@db/app'],
    ['a secret-named setting that is a path or url', 'token_url = https://auth.example.com/token\nsecret_file: /run/secrets/db\n'],
    ['code that computes a token', 'const token = await getToken(user);\n'],
    ['a short or low-entropy value', 'password = aaaaaaaa\nsecret=x\n'],
    ['ordinary prose', 'Set the token in your settings; the password is never stored.'],
  ];
  for (const [what, text] of negatives) {
    it(`ignores ${what}`, () => assert.deepEqual(rules(text), []));
  }

  it('gives the place of each hit (0-based offsets, 1-based line/col) and masks the secret in the preview', () => {
    const secret = k('ghp_', RANDOM40.slice(0, 36));
    const text = `line one\n  GITHUB_TOKEN=${secret}\n`;
    const [hit] = scanText(text).filter((h) => h.rule === 'github-token');
    assert.equal(hit.line, 2);
    assert.equal(hit.col, 16);
    assert.equal(text.slice(hit.start, hit.end), secret);
    assert.ok(!hit.preview.includes(secret.slice(8)), hit.preview);
  });

  it('entropy: random text scores higher than repeated text', () => {
    assert.ok(entropy(RANDOM40) > 4);
    assert.ok(entropy('aaaaaaaa') === 0);
  });
});

describe('files', () => {
  it('reads files, skips binaries and judges the first bytes only', () => {
    const ws = tree({ files: { 'conf.ini': k('aws_secret_access_key=', RANDOM40, '\n') } });
    writeFileSync(join(ws, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(k('-----BEGIN ', 'RSA PRIVATE KEY-----'))]));
    assert.equal(scanFile(join(ws, 'conf.ini'))[0]?.rule, 'aws-secret-key');
    assert.deepEqual(scanFile(join(ws, 'blob.bin')), []);
    assert.deepEqual(scanFile(join(ws, 'missing')), []);
  });

  it('skips lock files and dependency folders, but reads .git/config (tokens in remote URLs)', () => {
    assert.equal(shouldScan('package-lock.json'), false);
    assert.equal(shouldScan('node_modules/x/test/key.js'), false);
    assert.equal(shouldScan('img/logo.png'), false);
    assert.equal(shouldScan('src/config.ts'), true);
    assert.equal(shouldScan('.git/config'), true);
    assert.equal(shouldScan('sub/.git/config'), true);
    assert.equal(shouldScan('.git/objects/ab/cdef'), false);
  });
});
