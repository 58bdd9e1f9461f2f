// A test CA kept on this machine between runs (for --ca-cert tests): see testCertificates.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from './sandbox.js';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * The folder of this machine's test CA (corp-ca.pem) and a leaf it signed for intranet.corp.test
 * (leaf.pem), made once and kept, keys dropped (PADDOCK_TEST_CACHE, or ~/.cache/paddock-test). A
 * new CA each run changed the base image's hash, so every run built the base template from scratch
 * (apt, Node: over two minutes); with the same CA an image built by an earlier run is reused while
 * the base template is unchanged. Made again when the leaf expires within a week.
 */
export function testCertificates(): string {
  const dir = join(process.env.PADDOCK_TEST_CACHE ?? join(homedir(), '.cache', 'paddock-test'), 'ca-cert');
  const valid = existsSync(join(dir, 'leaf.pem')) && spawnSync('openssl', ['x509', '-checkend', String(7 * 86400), '-noout', '-in', join(dir, 'leaf.pem')]).status === 0;
  if (valid && existsSync(join(dir, 'corp-ca.pem'))) return dir;
  const work = mkdtempSync(join(tmpdir(), 'paddock-ca-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'corp-ca.pem', '-days', '365', '-subj', `/CN=Paddock Test Corp CA ${process.pid}-${Date.now()}`], work);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf-key.pem', '-out', 'leaf.csr', '-subj', '/CN=intranet.corp.test'], work);
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'corp-ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'leaf.pem', '-days', '365'], work);
  for (const f of ['ca-key.pem', 'leaf-key.pem', 'leaf.csr', 'corp-ca.srl']) rmSync(join(work, f), { force: true });
  // Swapped in whole, so a run beside this one reads either the old pair or the new one.
  mkdirSync(join(dir, '..'), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return dir;
}

/** The paddock-base image under an agent image (its nearest ancestor tagged paddock-base:*). */
export function baseTemplateOf(image: string): string | undefined {
  for (let id = image, i = 0; id && i < 10; i++) {
    const [info] = JSON.parse(docker(['image', 'inspect', id]).stdout || '[{}]');
    if ((info?.RepoTags ?? []).some((t: string) => t.startsWith('paddock-base:'))) return info.Id;
    id = info?.Parent;
  }
  return undefined;
}
