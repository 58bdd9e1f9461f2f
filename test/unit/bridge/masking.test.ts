import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskLogs } from '../../../src/bridge/maskedLogs.js';
import { envFileValues, hiddenFileSecrets, isSecretName, MASK, Masker, maskArgv, RULES } from '../../../src/core/masking.js';
import { GITLEAKS_RULES } from '../../../src/core/masking-gitleaks.js';
import { frame } from '../../support/frames.js';
import { CORPUS, KNOWN_SECRET, STRUCTURE_CORPUS } from './corpus.js';

const masker = new Masker({ knownSecrets: [KNOWN_SECRET] });

describe('masking corpus', () => {
  for (const entry of [...CORPUS, ...STRUCTURE_CORPUS]) {
    it(`masks ${entry.name}`, () => {
      const out = masker.mask(`before\n${entry.text}\nafter\n`);
      assert.ok(!out.includes(entry.secret), `secret came back: ${out}`);
      assert.ok(out.includes('before') && out.includes('after'), 'surrounding output is kept');
      assert.ok(out.includes('[MASKED'), out);
      if (entry.keep) assert.ok(out.includes(entry.keep), `the label "${entry.keep}" should stay readable: ${out}`);
    });

    it(`masks ${entry.name} split across chunks at every position`, () => {
      const text = `x\n${entry.text}\ny\n`;
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
    for (const n of ['PATH', 'HOME', 'NODE_ENV', 'PORT', 'HOSTNAME', 'PWD', 'OLDPWD']) assert.ok(!isSecretName(n), n);
    assert.ok(isSecretName('DB_PWD'));
  });

  it('masks a password under a working folder\'s name that is no path, and any other *PWD', () => {
    for (const line of ['PWD=hunter2-secret', 'DB_PWD=/s3cret-looking-path', 'pwd: /x9-secret', 'OLDPWD="hunter2-secret"']) {
      assert.doesNotMatch(masker.mask(`${line}\n`), /hunter2|s3cret|x9-secret/, line);
    }
  });

  it('reads the values of a .env file', () => {
    assert.deepEqual(envFileValues('# c\nA=1\nexport B="two words"\nC=\'x\'\n\nD=\n'), ['1', 'two words', 'x']);
  });
});

describe('ordinary output stays as it is', () => {
  const benign = [
    'commit 3f9a1c2e8b7d6f5a4c3b2a1908f7e6d5c4b3a291 Merge branch main',
    'request 123e4567-e89b-12d3-a456-426614174000 completed in 12ms',
    'image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 pulled',
    '2026-11-23T00:00:00.000Z INFO  GET /api/users/42 200 12ms user=alice request_id=9f8e7d6c',
    '2026-11-23T00:00:00.001Z DEBUG cache hit key=users:42 ttl=300 size=1832',
    'payload SGVsbG8sIHdvcmxkIQ== decoded',
    'docker.io/library/postgres:16-alpine',
    'Listening on http://0.0.0.0:8080',
    'password reset email sent to alice@example.com',
    'Set default region us-east-1',
    'data: {"type":"ping"}',
    'volumes:\n  data:\n    driver: local',
    'kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  MODE: production',
    'GET /hooks/status 200',
    'HOSTNAME=web-1\nPWD=/srv/app/current\nOLDPWD=/srv/app\nHOME=/root',
  ];
  for (const line of benign) {
    it(`leaves "${line.split('\n')[0]}" unchanged`, () => {
      const text = `${line}\n`;
      assert.equal(masker.mask(text), text);
    });
  }
});

describe('ported gitleaks rules', () => {
  it('every ported rule compiles and has a keyword to find its lines by', () => {
    assert.ok(GITLEAKS_RULES.length > 200, `${GITLEAKS_RULES.length} rules`);
    for (const rule of GITLEAKS_RULES) {
      assert.doesNotThrow(() => new RegExp(rule.re, `g${rule.flags ?? ''}`), rule.id);
      assert.ok(rule.keywords.length > 0 && rule.keywords.every((k) => k === k.toLowerCase()), rule.id);
    }
  });

  it("generic-api-key keeps gitleaks' stopwords: a value holding one stays, the same without it is masked", () => {
    const rule = RULES.find((r) => r.name === 'generic-api-key')!;
    const mask = (text: string) => { rule.re.lastIndex = 0; return text.replace(rule.re, rule.replace as (m: string, ...a: unknown[]) => string); };
    assert.equal(mask('access_thing = "xK9pQ2vL7rT4bN8mZ3wQ"'), `access_thing = "${MASK}"`);
    assert.equal(mask('access_thing = "xK9pQ2vLbuild7rT4bN8m"'), 'access_thing = "xK9pQ2vLbuild7rT4bN8m"');
    assert.equal(mask('access_thing = "XK9PQ2VLDOCKER7RT4BN8M"'), 'access_thing = "XK9PQ2VLDOCKER7RT4BN8M"');
  });

  it("every rule's keywords are in its own matches (a line without one is never worked on)", () => {
    for (const entry of [...CORPUS, ...STRUCTURE_CORPUS]) {
      const stats = { count: 0, rules: {} as Record<string, number> };
      masker.mask(`${entry.text}\n`, stats);
      for (const name of Object.keys(stats.rules)) {
        const rules = RULES.filter((r) => r.name === name && r.keywords.length);
        if (rules.length) assert.ok(rules.some((r) => r.keywords.some((k) => entry.text.toLowerCase().includes(k))), `${name} matched "${entry.name}" without its keyword`);
      }
    }
  });
});

describe('known values', () => {
  const secret = 'Zk8-pour-Lamp-93x';
  const known = new Masker({ knownSecrets: [secret, 'two words here'] });

  it('are masked in base64 (also inside a larger payload at every alignment), URL-encoded and JSON-escaped forms', () => {
    const forms = [
      Buffer.from(secret).toString('base64'),
      Buffer.from(`robot:${secret}`).toString('base64'),
      Buffer.from(`ab:${secret}:cd`).toString('base64'),
      Buffer.from(`a:${secret}`).toString('base64url'),
      encodeURIComponent('two words here'),
      'two+words+here',
    ];
    for (const form of forms) {
      const out = known.mask(`value ${form} end\n`);
      assert.ok(out.includes(MASK), `${form} came back: ${out}`);
      const decoded = out.split(' ')[1].replace(/\[MASKED\]/g, '');
      assert.ok(!Buffer.from(decoded, 'base64').toString('latin1').includes(secret.slice(0, 8)), `${form} still decodes to the secret: ${out}`);
    }
  });

  it('are cut off, not left as a prefix, where a truncated output ends inside one', () => {
    for (let cut = 1; cut < secret.length; cut++) {
      const out = known.mask(`read: ${secret.slice(0, cut)}`, undefined, { truncated: true });
      assert.equal(out, 'read: ', `a cut after ${cut} characters left: ${out}`);
    }
    assert.equal(known.mask('words: two words', undefined, { truncated: true }), 'words: ');
  });

  it('a token cut below the length its pattern needs is not left at a truncation either', () => {
    const out = known.mask(`using ghp_${'a1B2'.repeat(3)}`, undefined, { truncated: true });
    assert.ok(!out.includes('ghp_'), out);
  });

  it('truncated output ending in base64 lines (a key whose END never came) is masked', () => {
    const body = Array.from({ length: 4 }, (_, i) => `${'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'.slice(i)}${'AbCdEfGh12345678'.repeat(2)}`).join('\n');
    const out = known.mask(`ok\n${body}\nMIIEvQ`, undefined, { truncated: true });
    assert.equal(out, 'ok\n[MASKED private key]');
  });
});

describe("a hidden file's content", () => {
  it('is learned whatever its syntax: .env with inline comments, a plain token file, netrc, pgpass, JSON, YAML', () => {
    const learned = (text: string) => hiddenFileSecrets(text);
    assert.ok(learned('API_KEY=abc123secretvalue # rotated monthly\n').includes('abc123secretvalue'));
    assert.ok(learned('export DB_PASS="quoted value here" # note\n').includes('quoted value here'));
    assert.ok(learned('tok_plain_file_value_99\n').includes('tok_plain_file_value_99'));
    assert.ok(learned('machine h login u password netrcPass77\n').includes('netrcPass77'));
    assert.ok(learned('db:5432:app:user:pgpassValue1\n').includes('pgpassValue1'));
    assert.ok(learned('{"client_secret": "jsonSecret123"}\n').includes('jsonSecret123'));
    assert.ok(learned('stripe:\n  key: yamlSecret456 # live\n').includes('yamlSecret456'));
    assert.deepEqual(learned('true\nnull\n${VAR}\n# a comment line\n'), []);
  });

  it('is learned as the program reads it too: escapes in a JSON string and a double-quoted .env value', () => {
    const cases: [string, string][] = [
      ['{"db_password": "Pa\\"ss\\\\word-123"}\n', 'Pa"ss\\word-123'],
      ['{"callback_secret": "abc\\/def\\/ghi123"}\n', 'abc/def/ghi123'],
      ['DB_PASSWORD="S3cr\\"etValue99"\n', 'S3cr"etValue99'],
      ['TOKEN="tab\\tsep-secret99"\n', 'tab\tsep-secret99'],
    ];
    for (const [file, used] of cases) {
      const learned = hiddenFileSecrets(file);
      assert.ok(learned.includes(used), `${JSON.stringify(used)} not among ${JSON.stringify(learned)}`);
      const out = new Masker({ knownSecrets: learned }).mask(`the app uses ${used} now\n`);
      assert.ok(!out.includes(used), out);
    }
  });

  it('a .env value keeps its inline comment out', () => {
    assert.deepEqual(envFileValues('A=value1 # comment\nB="x # y"\n'), ['value1', 'x # y']);
  });
});

describe('a block (a label whose value is on the next lines, a data: block) only adds masking', () => {
  const GH = `ghp_${'Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'}`;
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  const cases: Record<string, { text: string; secrets: string[]; keep?: string[] }> = {
    'YAML data: with known values, a token and URL credentials': {
      text: `data:\n  api_token: ${KNOWN_SECRET}\n  note: ${KNOWN_SECRET}\n  github: ${GH}\n  url: postgres://admin:Zq9-94ed61ce73bf64dc@db/app\n  password: hunter2hunter2\n`,
      secrets: [KNOWN_SECRET, GH, 'Zq9-94ed61ce73bf64dc', 'hunter2hunter2'],
      keep: ['data:', 'github: ', 'postgres://admin:'],
    },
    'a JSON "data": { envelope with a JWT, a password and a known value': {
      text: `{\n  "data": {\n    "access_token": "${JWT}",\n    "password": "hunter2hunter2",\n    "note": "${KNOWN_SECRET}"\n  }\n}\n`,
      secrets: [JWT, 'hunter2hunter2', KNOWN_SECRET],
      keep: ['"data": {', '"note": '],
    },
    'a GraphQL answer (data, then a nested object)': {
      text: `{\n  "data": {\n    "login": {\n      "token": "${JWT}"\n    }\n  }\n}\n`,
      secrets: [JWT],
      keep: ['"login": {'],
    },
    'a header line "data": { printed before a config (cat hdr.json config.json)': {
      text: `"data": {\n{\n  "password": "tok-2b39e1aa0f7c",\n  "plain": "${KNOWN_SECRET}"\n}\n`,
      secrets: ['tok-2b39e1aa0f7c', KNOWN_SECRET],
    },
    'a rule found by a probe (pgpass) inside a data: block': {
      text: 'data:\n  db.internal:5432:appdb:appuser:Pg-5ecret-value-99\n',
      secrets: ['Pg-5ecret-value-99'],
    },
    "a secret's label under data: (its value on the next line)": {
      text: 'data:\n  login:\n    password:\n      Nested-pass-value-42\n    user: bob\n',
      secrets: ['Nested-pass-value-42'],
      keep: ['user: bob'],
    },
    'a value block (password:) holding a known value glued to text': {
      text: `password:\n  x${KNOWN_SECRET}y\nafter: ${KNOWN_SECRET}\n`,
      secrets: [KNOWN_SECRET],
    },
  };
  for (const [name, { text, secrets, keep }] of Object.entries(cases)) {
    it(`masks ${name}`, () => {
      const out = masker.mask(`before\n${text}after\n`);
      for (const secret of secrets) assert.ok(!out.includes(secret), `${secret} came back: ${out}`);
      for (const k of keep ?? []) assert.ok(out.includes(k), `"${k}" should stay readable: ${out}`);
    });
    it(`masks ${name}, split across chunks at every position`, () => {
      const whole = `x\n${text}y\n`;
      for (let cut = 1; cut < whole.length; cut++) {
        const stream = masker.stream();
        const out = stream.push(whole.slice(0, cut)) + stream.push(whole.slice(cut)) + stream.end();
        for (const secret of secrets) assert.ok(!out.includes(secret), `${secret} came back with a cut at ${cut}: ${out}`);
      }
    });
  }

  it("keeps a ConfigMap's and an ordinary data: block's values readable, and counts a value masked by its rule once", () => {
    const configMap = 'kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  MODE: production\n';
    assert.equal(masker.mask(configMap), configMap);
    const stats = { count: 0, rules: {} as Record<string, number> };
    assert.equal(masker.mask(`password:\n  ${KNOWN_SECRET}\n`, stats), `password:\n  ${MASK}\n`);
    assert.equal(stats.count, 1, JSON.stringify(stats));
  });
});

describe("secret flags in a command's argv (inspect_container's command)", () => {
  const cases: [string[], string[]][] = [
    [['redis-server', '--requirepass', 'R3dis-8e4c0d22880d1d8a'], ['redis-server', '--requirepass', MASK]],
    [['mysqld', '--password', 'My5qlPassw0rdX', '--port', '3306'], ['mysqld', '--password', MASK, '--port', '3306']],
    [['app', '--token=tok-abc123456', '--api-key', 'k-998877', '--client-secret', 'cs-1122'], ['app', `--token=${MASK}`, '--api-key', MASK, '--client-secret', MASK]],
    [['redis-server', '--masterauth', 'm4ster-secret'], ['redis-server', '--masterauth', MASK]],
    [['docker-entrypoint.sh', 'mysql', '-uroot', '-pS3cretPw'], ['docker-entrypoint.sh', 'mysql', '-uroot', `-p${MASK}`]],
    [['/usr/local/bin/redis-cli', '-a', 'r3dis-pw', 'ping'], ['/usr/local/bin/redis-cli', '-a', MASK, 'ping']],
  ];
  for (const [argv, want] of cases) {
    it(`masks ${argv.join(' ')}`, () => {
      const stats = { count: 0, rules: {} as Record<string, number> };
      assert.deepEqual(maskArgv(argv, stats), want);
      assert.ok(stats.count > 0);
    });
  }

  it('leaves ports, other programs\' -p and -a, and a secret flag followed by another flag as they are', () => {
    for (const argv of [
      ['nginx', '-g', 'daemon off;'], ['python', '-m', 'http.server', '-p', '8080'], ['server', '-p8080'], ['ls', '-a', 'folder'],
      ['app', '--password', '--verbose'], ['app', '--password='], ['sh', '-c', 'echo "$PASSWORD"'],
    ]) assert.deepEqual(maskArgv(argv, { count: 0, rules: {} }), argv);
  });
});

describe("known values in other runtimes' encodings, and signed URLs after an escaped separator", () => {
  const amp = 'S3cr&t<c75887e8c53e>';
  const aws = 'wJalr/566b11b3cf03+K7MD/8449595927a5=';
  const bang = 'Pa55word!xyz(1)';
  const accent = 'pässwörd-ünïcode-42';
  const known = new Masker({ knownSecrets: [amp, aws, bang, accent] });
  const cases: Record<string, [string, string]> = {
    "Go's encoding/json (<>& as \\u003c)": [`{"sess":"S3cr\\u0026t\\u003cc75887e8c53e\\u003e"}`, 'c75887e8c53e'],
    "PHP's json_encode (/ as \\/)": [`{"k":"wJalr\\/566b11b3cf03+K7MD\\/8449595927a5="}`, '566b11b3cf03'],
    "Python's quote (/ kept)": ['GET /x?k=wJalr/566b11b3cf03%2BK7MD/8449595927a5%3D', '566b11b3cf03'],
    "form encoding (!'() encoded)": ['body: k=Pa55word%21xyz%281%29', 'Pa55word'],
    "Python's json.dumps (non-ASCII as \\uXXXX)": [`{"p": "p\\u00e4ssw\\u00f6rd-\\u00fcn\\u00efcode-42"}`, 'code-42'],
    "an S3 signature after Go's \\u0026": ['{"url":"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256\\u0026X-Amz-Date=20240101T000000Z\\u0026X-Amz-Signature=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}', '9f86d081884c7d65'],
    "an Azure sig after Go's \\u0026": ['{"url":"https://a.blob.core.windows.net/c/b?sv=2022-11-02\\u0026sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo%3D"}', 'Zm9vYmFyYmF6'],
    'an S3 signature in a URL-encoded URL': ['redirect=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FX-Amz-Signature%3D9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', '9f86d081884c7d65'],
    'an Azure sig in a URL-encoded URL': ['next=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D2022%26sig%3DZm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo%253D', 'Zm9vYmFyYmF6'],
  };
  for (const [name, [text, secret]] of Object.entries(cases)) {
    it(`masks ${name}`, () => {
      const out = known.mask(`${text}\n`);
      assert.ok(!out.includes(secret), out);
    });
  }
});

describe('a very long line released at a safe cut', () => {
  it('is not cut inside a match of a rule found by a probe (generic-api-key), at any position', () => {
    const value = 'Q1w2E3r4T5y6U7i8O9p0zXcV';
    const plain = new Masker({});
    for (let pos = 61400; pos < 61460; pos++) {
      const line = `${'w'.repeat(10)} ${'w'.repeat(pos - 11)}{'client_creds': '${value}'}${'z'.repeat(20000)}\n`;
      const stream = plain.stream();
      let out = '';
      for (let i = 0; i < line.length; i += 4096) out += stream.push(line.slice(i, i + 4096));
      out += stream.end();
      assert.ok(!out.includes(value), `the value came back with the fragment at ${pos}`);
    }
  });
});

describe('logs split by the engine', () => {
  it('are joined per stream before masking: a long line cut into frames, with the other stream and frame times between', () => {
    const time = '2026-12-01T09:00:00.123456789Z ';
    const buffer = Buffer.concat([
      frame(1, `${time}connecting with password=Hunt`),
      frame(2, `${time}warning: slow\n`),
      frame(1, `${time}er2-split-secret and more\n`),
      frame(1, `${time}token ghp_${'Ab1'.repeat(6)}`),
      frame(1, `${time}${'Cd2'.repeat(6)}\n`),
    ]);
    const stats = { count: 0, rules: {} as Record<string, number> };
    const out = maskLogs(buffer, masker, stats, true);
    assert.ok(!/Hunt|er2-split|Cd2Cd2|Ab1Ab1/.test(out), out);
    assert.ok(out.includes('warning: slow') && out.includes('and more'), out);
  });
});
