// The machine's package sources become a new sandbox's allowed registries and its templates' build
// arguments, so a company mirror works without a policy edit and Paddock names no registry itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aptMainMirror, aptSecurityMirror, aptSourceUris, pipConfigIndexes, registryRules } from '../../../src/core/packageSources.js';

describe('package sources of the host', () => {
  it('reads apt sources in one-line and deb822 form, skipping comments and local files', () => {
    const uris = aptSourceUris([
      '# deb http://old.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] https://mirror.corp.example/debian bookworm main',
      'deb-src http://src.corp.example/debian bookworm main',
      'deb file:/srv/repo ./',
      'Types: deb',
      'URIs: http://a.corp.example/debian http://b.corp.example/debian',
      'URIs: http://a.corp.example/debian-security',
    ].join('\n'));
    assert.deepEqual(uris, ['https://mirror.corp.example/debian', 'http://src.corp.example/debian', 'http://a.corp.example/debian', 'http://b.corp.example/debian', 'http://a.corp.example/debian-security']);
    assert.equal(aptMainMirror(uris), 'https://mirror.corp.example/debian');
    assert.equal(aptSecurityMirror(uris), 'http://a.corp.example/debian-security');
  });

  it('reads pip indexes, with multi-line values, and ignores file:// and find-links', () => {
    const text = '[global]\nindex-url = https://pypi.corp.example/simple\nextra-index-url =\n    https://extra.corp.example/simple\n    file:///opt/pypi/simple\nfind-links = https://links.example/\n';
    assert.deepEqual(pipConfigIndexes(text), ['https://pypi.corp.example/simple', 'https://extra.corp.example/simple']);
  });

  it('turns URLs into host rules, keeps ports, drops loopback and non-http sources', () => {
    assert.deepEqual(registryRules(['https://npm.corp.example/', 'http://mirror.corp.example:8081/debian', 'https://npm.corp.example/other', 'file:///x', 'http://localhost:4873/', 'http://127.0.0.1/x', 'not a url']),
      ['npm.corp.example', 'mirror.corp.example:8081']);
  });
});
