import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { claudePathToGlob, gitignoreToGlob, readClaudeSettings, readCompose, readDevcontainer, readGeminiSettings, readIgnoreFile, readPolicyHide } from '../../../src/core/drift/readers.js';

const WS = '/home/dev/proj';
const HOME = '/home/dev';
const at = (text: string, range: { start: number; end: number }) => text.slice(range.start, range.end);

describe('.claude/settings.json', () => {
  const text = `{
  // comments are allowed (JSONC)
  "permissions": {
    "allow": ["Read(./src/**)"],
    "deny": [
      "Read(./.env)",
      "Bash(curl:*)",
      "Read(*.pem)",
      "Read(/config/prod.json)",
      "Read(//home/dev/proj/keys/**)",
      "Read(~/proj/private/)",
      "Read(~/.aws/**)",
      "Read(//etc/shadow)",
    ]
  }
}`;
  const file = join(WS, '.claude/settings.json');
  const rf = readClaudeSettings(file, text, WS, HOME);

  it('reads only Read(...) deny rules, each with its place in the file', () => {
    assert.deepEqual(rf.rules.map((r) => r.text), ['Read(./.env)', 'Read(*.pem)', 'Read(/config/prod.json)', 'Read(//home/dev/proj/keys/**)', 'Read(~/proj/private/)', 'Read(~/.aws/**)', 'Read(//etc/shadow)']);
    assert.equal(at(text, rf.rules[0].range), '"Read(./.env)"');
    assert.equal(rf.rules[0].range.line, 6);
    assert.equal(rf.rules[0].range.col, 7);
    assert.equal(at(text, rf.anchor).startsWith('['), true);
    assert.deepEqual(rf.problems, []);
  });

  it('translates Claude\'s path forms to workspace globs (outside the workspace: none)', () => {
    assert.deepEqual(rf.rules.map((r) => r.glob), ['.env', '**/*.pem', 'config/prod.json', 'keys/**', 'private/**', undefined, undefined]);
  });

  it('a pattern that covers the whole workspace from above covers everything', () => {
    assert.equal(claudePathToGlob('~/**', WS, HOME), '**');
    assert.equal(claudePathToGlob('//home/dev/**', WS, HOME), '**');
    assert.equal(claudePathToGlob('./secrets/', WS, HOME), 'secrets/**');
  });

  it('reports broken JSON with its place and keeps what it could read', () => {
    const broken = '{"permissions": {"deny": ["Read(./.env)",, ]}';
    const r = readClaudeSettings(file, broken, WS, HOME);
    assert.ok(r.problems.length > 0);
    assert.match(r.problems[0].message, /Invalid JSON/);
  });
});

describe('gitignore-style files (.aiexclude, .geminiignore)', () => {
  it('translates patterns: no slash = any depth, a slash anchors, a trailing slash = folder, "!" negates', () => {
    assert.deepEqual(gitignoreToGlob('.env'), { glob: '**/.env', negated: false });
    assert.deepEqual(gitignoreToGlob('/config/prod.json'), { glob: 'config/prod.json', negated: false });
    assert.deepEqual(gitignoreToGlob('keys/'), { glob: '**/keys/**', negated: false });
    assert.deepEqual(gitignoreToGlob('!.env.example'), { glob: '**/.env.example', negated: true });
    assert.deepEqual(gitignoreToGlob('\\#literal'), { glob: '**/#literal', negated: false });
    assert.equal(gitignoreToGlob('# comment'), undefined);
    assert.equal(gitignoreToGlob('   '), undefined);
  });

  it('reads each rule with its line; a nested file applies to its own folder', () => {
    const text = '# secrets\n.env*\n\n  !.env.example\n/certs/\n';
    const rf = readIgnoreFile('aiexclude', join(WS, 'api/.aiexclude'), text, WS);
    assert.deepEqual(rf.rules.map((r) => [r.text, r.glob, r.negated, r.range.line]), [
      ['.env*', 'api/**/.env*', false, 2],
      ['!.env.example', 'api/**/.env.example', true, 4],
      ['/certs/', 'api/certs/**', false, 5],
    ]);
    assert.equal(at(text, rf.rules[1].range), '!.env.example');
  });
});

describe('.gemini/settings.json', () => {
  it('notices respectGeminiIgnore: false (new and old layout)', () => {
    const text = '{"context": {"fileFiltering": {"respectGeminiIgnore": false}}}';
    const off = readGeminiSettings('/x', text);
    assert.equal(off.respectGeminiIgnore, false);
    assert.equal(off.range.col, text.indexOf('false') + 1);
    assert.equal(readGeminiSettings('/x', '{"fileFiltering": {"respectGeminiIgnore": false}}').respectGeminiIgnore, false);
    assert.equal(readGeminiSettings('/x', '{"theme": "dark"}').respectGeminiIgnore, true);
  });
});

describe('compose files', () => {
  const text = `services:
  api:
    image: node
    volumes:
      - .:/app
      - /dev/null:/app/.env:ro
      - type: bind
        source: /dev/null
        target: /app/config/key.pem
      - type: tmpfs
        target: /app/secrets
    tmpfs:
      - /app/private:size=1m
  db:
    image: postgres
    volumes:
      - /dev/null:/var/lib/postgresql/.pgpass
`;
  it('maps /dev/null volumes and tmpfs back to workspace paths through the project bind', () => {
    const rf = readCompose(join(WS, 'docker-compose.yml'), text, WS);
    assert.deepEqual(rf.rules.map((r) => [r.glob, r.range.line]), [['.env', 6], ['config/key.pem', 7], ['secrets/**', 10], ['private/**', 13]]);
    assert.equal(at(text, rf.rules[0].range), '/dev/null:/app/.env:ro');
  });

  it('resolves the project bind relative to the compose file (.devcontainer/compose with "..")', () => {
    const rf = readCompose(join(WS, '.devcontainer/docker-compose.yml'), 'services:\n  dev:\n    volumes: ["..:/workspace:cached", "/dev/null:/workspace/api/.env"]\n', WS);
    assert.deepEqual(rf.rules.map((r) => r.glob), ['api/.env']);
  });

  it('reports invalid YAML', () => {
    assert.ok(readCompose(join(WS, 'compose.yaml'), 'services: [\n', WS).problems.length > 0);
  });
});

describe('devcontainer.json', () => {
  it('reads /dev/null and tmpfs mounts (strings and objects) relative to the container workspace folder', () => {
    const text = `{
  // JSONC
  "name": "dev",
  "workspaceFolder": "/workspaces/proj",
  "mounts": [
    "source=/dev/null,target=\${containerWorkspaceFolder}/.env,type=bind",
    { "source": "/dev/null", "target": "/workspaces/proj/api/.env.local", "type": "bind" },
    "target=\${containerWorkspaceFolder}/secrets,type=tmpfs",
    "source=\${localWorkspaceFolder}/cache,target=/cache,type=bind"
  ]
}`;
    const rf = readDevcontainer(join(WS, '.devcontainer/devcontainer.json'), text, WS);
    assert.deepEqual(rf.rules.map((r) => [r.glob, r.range.line]), [['.env', 6], ['api/.env.local', 7], ['secrets/**', 8]]);
  });

  it('defaults the container workspace to /workspaces/<folder name>', () => {
    const rf = readDevcontainer(join(WS, '.devcontainer.json'), '{"mounts": ["source=/dev/null,target=/workspaces/proj/.npmrc,type=bind"]}', WS);
    assert.deepEqual(rf.rules.map((r) => r.glob), ['.npmrc']);
  });
});

describe('policy.yaml hide list', () => {
  it('gives each hide glob its place', () => {
    const text = 'version: 1\n# keep\nhide:\n  - "**/.env"\n  - "!**/.env.example"\n  - secrets/**\n';
    const rf = readPolicyHide(join(WS, '.paddock/policy.yaml'), text);
    assert.deepEqual(rf.rules.map((r) => [r.text, r.negated, r.range.line]), [['**/.env', false, 4], ['!**/.env.example', true, 5], ['secrets/**', false, 6]]);
    assert.equal(rf.anchor.line, 3);
  });
});
