// Corporate TLS-intercepting proxies: extra CA certificates become trusted inside the image.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { baseTemplateOf, testCertificates } from '../../support/ca.js';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

describe('--ca-cert', () => {
  const certs = testCertificates();
  // .crt, not .pem: *.pem files are hidden by the default policy (and would read empty).
  const ws = makeWorkspace({ 'leaf.crt': readFileSync(join(certs, 'leaf.pem'), 'utf8') });
  // The images built with this machine's test CA are kept for the next run; those of an earlier
  // base template (or CA) are removed, so only one pair is ever left.
  const kept = join(certs, '..', 'ca-cert-images.json');
  const images: string[] = [];
  after(async () => {
    await cleanup(ws);
    const earlier: string[] = existsSync(kept) ? JSON.parse(readFileSync(kept, 'utf8')) : [];
    for (const image of earlier.filter((i) => !images.includes(i))) docker(['rmi', image]);
    if (images.length) writeFileSync(kept, JSON.stringify(images));
  });

  it('adds the certificate to the trust store of the templates (system bundle and node)', async () => {
    const created = JSON.parse((await paddockOk(['create', 'shell', ws, '--ca-cert', join(certs, 'corp-ca.pem'), '--json'], { timeoutMs: 900_000 })).stdout);
    const base = baseTemplateOf(created.image);
    images.push(created.image, ...(base ? [base] : []));
    const verify = await paddockOk(['exec', created.name, '--', 'openssl', 'verify', '-CAfile', '/etc/ssl/certs/ca-certificates.crt', 'leaf.crt']);
    assert.match(verify.stdout, /leaf\.crt: OK/);
    assert.equal((await paddockOk(['exec', created.name, '--', 'printenv', 'NODE_EXTRA_CA_CERTS'])).stdout.trim(), '/etc/ssl/certs/ca-certificates.crt');
  });

  it('a certificate file that cannot be read is an error that names it', async () => {
    const other = makeWorkspace();
    try {
      const r = await paddock(['create', 'shell', other, '--ca-cert', join(certs, 'missing.pem')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Cannot read the CA certificate .*missing\.pem[\s\S]*--ca-cert/);
    } finally {
      await cleanup(other);
    }
  });
});
