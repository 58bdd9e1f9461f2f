// Remote engines: the same engine reached over tcp:// with mutual TLS and over ssh://, as a user
// with a bigger machine would. Both are loopback endpoints this test stands up itself in front of
// the local engine: a TLS terminator that demands a client certificate, and a real OpenSSH sshd.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';

function sh(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as `docker` expects them in DOCKER_CERT_PATH. */
function makeCertificates(dir: string): void {
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'client.cnf'), 'extendedKeyUsage=clientAuth\n');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=paddock-test-ca'], dir);
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  sh('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server-cert.pem', '-days', '2', '-extfile', 'san.cnf'], dir);
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=paddock-user'], dir);
  sh('openssl', ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'client.cnf'], dir);
}

describe('an engine behind tcp:// with mutual TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-tls-'));
  const clientDir = join(dir, 'client');
  const noCertDir = join(dir, 'no-client-cert');
  let server: Server;
  let port: number;
  const ws = makeWorkspace({ 'remote.txt': 'over tls\n' });

  before(async () => {
    makeCertificates(dir);
    mkdirSync(clientDir);
    mkdirSync(noCertDir);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(clientDir, f), readFileSync(join(dir, f)));
    writeFileSync(join(noCertDir, 'ca.pem'), readFileSync(join(dir, 'ca.pem')));
    server = createServer({
      key: readFileSync(join(dir, 'server-key.pem')), cert: readFileSync(join(dir, 'server-cert.pem')), ca: readFileSync(join(dir, 'ca.pem')),
      // Half-open as dockerd's own TLS listener: a client may close stdin and still read output.
      requestCert: true, rejectUnauthorized: true, allowHalfOpen: true,
    }, (tlsSocket) => {
      const engine = netConnect('/var/run/docker.sock');
      tlsSocket.pipe(engine).pipe(tlsSocket);
      tlsSocket.on('error', () => engine.destroy());
      engine.on('error', () => tlsSocket.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await cleanup(ws);
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsEnv = () => ({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: clientDir });

  it('creates, runs and removes a sandbox through it, interactive streams included', async () => {
    const info = JSON.parse((await paddockOk(['info', '--json'], { env: tlsEnv() })).stdout);
    assert.equal(info.engine.host, `tcp://127.0.0.1:${port}`);
    assert.equal(info.engine.source, 'DOCKER_HOST');
    const name = (await paddockOk(['create', 'shell', ws], { env: tlsEnv() })).stdout.trim();
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'remote.txt'], { env: tlsEnv() })).stdout, 'over tls\n');
    assert.equal((await paddockOk(['exec', name, '--', 'wc', '-c'], { env: tlsEnv(), input: 'abc' })).stdout.trim(), '3');
    assert.equal((await paddock(['exec', name, '--', 'sh', '-c', 'exit 4'], { env: tlsEnv() })).code, 4);
    await paddockOk(['rm', name], { env: tlsEnv() });
  });

  it('without a client certificate the engine refuses, and Paddock says where it was going', async () => {
    const r = await paddock(['ls'], { env: { ...tlsEnv(), DOCKER_CERT_PATH: noCertDir } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`No Docker engine answers at tcp://127\\.0\\.0\\.1:${port} \\(DOCKER_HOST\\)`));
  });
});

describe('an engine behind ssh://', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-ssh-'));
  const home = join(dir, 'home');
  let sshd: ChildProcess;
  let port: number;
  const ws = makeWorkspace({ 'remote.txt': 'over ssh\n' });

  before(async () => {
    assert.ok(existsSync('/usr/sbin/sshd'), 'this test needs OpenSSH\'s sshd (apt-get install openssh-server; .ci/run installs it)');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')], dir);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')], dir);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(home, '.ssh', 'id_ed25519.pub')));
    chmodSync(join(dir, 'authorized_keys'), 0o600);
    port = 20000 + (process.pid % 20000);
    writeFileSync(join(dir, 'sshd_config'), [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no',
      `PidFile ${join(dir, 'sshd.pid')}`, 'SetEnv PATH=/usr/local/bin:/usr/bin:/bin',
    ].join('\n') + '\n');
    mkdirSync('/run/sshd', { recursive: true });
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    // The known_hosts entry the user would have accepted on first connection.
    const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
    writeFileSync(join(dir, 'ssh'), `#!/bin/sh\nexec ssh -i ${join(home, '.ssh', 'id_ed25519')} -o UserKnownHostsFile=${join(home, '.ssh', 'known_hosts')} -o GlobalKnownHostsFile=/dev/null "$@"\n`, { mode: 0o755 });
    for (let i = 0; i < 50; i++) {
      const probe = spawnSync('ssh', ['-o', 'BatchMode=yes', '-p', String(port), '-i', join(home, '.ssh', 'id_ed25519'), '-o', `UserKnownHostsFile=${join(home, '.ssh', 'known_hosts')}`, '127.0.0.1', 'true']);
      if (probe.status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('sshd did not come up');
  });
  after(async () => {
    await cleanup(ws);
    sshd?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  // ssh reads ~/.ssh from the passwd entry, not $HOME: a wrapper points it at this test's key and
  // known_hosts, as a user's ~/.ssh/config would (PADDOCK_SSH names the ssh command to run).
  const sshEnv = () => ({ DOCKER_HOST: `ssh://root@127.0.0.1:${port}`, PADDOCK_SSH: join(dir, 'ssh') });

  it('creates, runs and removes a sandbox through the system ssh', async () => {
    const info = JSON.parse((await paddockOk(['info', '--json'], { env: sshEnv() })).stdout);
    assert.equal(info.engine.host, `ssh://root@127.0.0.1:${port}`);
    const name = (await paddockOk(['create', 'shell', ws], { env: sshEnv() })).stdout.trim();
    assert.equal((await paddockOk(['exec', name, '--', 'cat', 'remote.txt'], { env: sshEnv() })).stdout, 'over ssh\n');
    assert.equal((await paddock(['exec', name, '--', 'sh', '-c', 'exit 6'], { env: sshEnv() })).code, 6);
    const listed = JSON.parse((await paddockOk(['ls', '--json', '-w', ws], { env: sshEnv() })).stdout);
    assert.equal(listed[0].name, name);
    await paddockOk(['rm', name], { env: sshEnv() });
  });

  it('an unknown host key is refused, not trusted silently', async () => {
    writeFileSync(join(home, '.ssh', 'known_hosts'), '');
    const r = await paddock(['ls'], { env: sshEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ssh to 127\.0\.0\.1:\d+ failed[\s\S]*(Host key verification failed|No .* host key is known)/);
  });
});
