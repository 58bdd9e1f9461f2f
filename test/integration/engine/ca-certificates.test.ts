// Corporate TLS-intercepting proxies: extra CA certificates become trusted inside the image.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanup, docker, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

describe('--ca-cert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-ca-'));
  // Only this test's CA, so the base image it builds is its own (removed afterwards).
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'corp-ca.pem', '-days', '2', '-subj', `/CN=Paddock Test Corp CA ${process.pid}`], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf-key.pem', '-out', 'leaf.csr', '-subj', '/CN=intranet.corp.test'], dir);
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'corp-ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2'], dir);
  // .crt, not .pem: *.pem files are hidden by the default policy (and would read empty).
  const ws = makeWorkspace({ 'leaf.crt': readFileSync(join(dir, 'leaf.pem'), 'utf8') });
  const started = Math.floor(Date.now() / 1000);
  const images: string[] = [];
  after(async () => {
    await cleanup(ws);
    for (const image of images) docker(['rmi', '-f', image]);
    // The base image built with this test's CA (unused by anything else: its hash includes the CA).
    const bases = docker(['images', '-q', '--filter', 'label=dev.paddock.template=base', '--format', '{{.ID}} {{.CreatedAt}}']).stdout.trim().split('\n');
    for (const line of bases) {
      const [id, ...created] = line.split(' ');
      if (id && Date.parse(created.slice(0, 2).join('T') + 'Z') / 1000 >= started) docker(['rmi', id]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds the certificate to the trust store of the templates (system bundle and node)', async () => {
    const created = JSON.parse((await paddockOk(['create', 'shell', ws, '--ca-cert', join(dir, 'corp-ca.pem'), '--json'], { timeoutMs: 900_000 })).stdout);
    images.push(created.image);
    const verify = await paddockOk(['exec', created.name, '--', 'openssl', 'verify', '-CAfile', '/etc/ssl/certs/ca-certificates.crt', 'leaf.crt']);
    assert.match(verify.stdout, /leaf\.crt: OK/);
    assert.equal((await paddockOk(['exec', created.name, '--', 'printenv', 'NODE_EXTRA_CA_CERTS'])).stdout.trim(), '/etc/ssl/certs/ca-certificates.crt');
  });

  it('a certificate file that cannot be read is an error that names it', async () => {
    const other = makeWorkspace();
    try {
      const r = await paddock(['create', 'shell', other, '--ca-cert', join(dir, 'missing.pem')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Cannot read the CA certificate .*missing\.pem[\s\S]*--ca-cert/);
    } finally {
      await cleanup(other);
    }
  });
});
