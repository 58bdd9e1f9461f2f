import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PaddockError } from '../../../src/core/errors.js';
import { parseEnvAssignments, parseEnvFile, parseMemory, parsePort, resolveLimits } from '../../../src/core/options.js';

describe('resource limits', () => {
  it('applies sane defaults when nothing is asked', () => {
    assert.deepEqual(resolveLimits({}), { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3, pids: 1024 });
  });
  it('reads Docker-style memory sizes', () => {
    assert.equal(parseMemory('512m'), 512 * 1024 ** 2);
    assert.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseMemory('2GiB'), 2 * 1024 ** 3);
  });
  it('refuses nonsense with a message that says what to use', () => {
    assert.throws(() => parseMemory('lots'), (e: PaddockError) => /Invalid memory limit/.test(e.message) && /512m/.test(e.hint!));
    assert.throws(() => parseMemory('1k'), /below Docker's minimum/);
    assert.throws(() => resolveLimits({ cpus: '-1' }), /Invalid CPU limit/);
    assert.throws(() => resolveLimits({ pids: 3 }), /Invalid pids limit/);
  });
});

describe('published ports', () => {
  it('lets Docker pick the host port by default', () => {
    assert.deepEqual(parsePort('3000'), { containerPort: 3000, hostPort: 0, protocol: 'tcp' });
  });
  it('reads HOSTPORT:PORT and protocols', () => {
    assert.deepEqual(parsePort('8080:3000'), { containerPort: 3000, hostPort: 8080, protocol: 'tcp' });
    assert.deepEqual(parsePort('5353/udp'), { containerPort: 5353, hostPort: 0, protocol: 'udp' });
    assert.deepEqual(parsePort('127.0.0.1:8080:3000'), { containerPort: 3000, hostPort: 8080, protocol: 'tcp' });
  });
  it('never publishes on an address other than loopback', () => {
    const loopbackOnly = (e: PaddockError) => /would listen on/.test(e.message) && /127\.0\.0\.1 only/.test(e.hint!);
    assert.throws(() => parsePort('0.0.0.0:8080:3000'), loopbackOnly);
    assert.throws(() => parsePort('192.168.1.5:80:80'), loopbackOnly);
  });
  it('refuses out-of-range and malformed ports', () => {
    for (const bad of ['0', '70000', 'http', '1:2:3:4', '80/sctp']) assert.throws(() => parsePort(bad), PaddockError, bad);
  });
});

describe('environment variables', () => {
  it('reads K=V, keeps = inside values and unquotes', () => {
    assert.deepEqual(parseEnvAssignments(['A=1', 'URL=postgres://u:p@h/db?x=y', 'Q="two words"']), { A: '1', URL: 'postgres://u:p@h/db?x=y', Q: 'two words' });
  });
  it('passes a host value through for a bare name, and skips unset ones', () => {
    process.env.PADDOCK_TEST_PASSTHROUGH = 'from-host';
    assert.deepEqual(parseEnvAssignments(['PADDOCK_TEST_PASSTHROUGH', 'PADDOCK_TEST_UNSET_VAR']), { PADDOCK_TEST_PASSTHROUGH: 'from-host' });
  });
  it('reads env files with comments, blanks and export', () => {
    assert.deepEqual(parseEnvFile('# comment\n\nexport A=1\nB = ignored-space\nC=\'x y\'\r\n', '.env'), { A: '1', C: 'x y', B: ' ignored-space' });
  });
  it('names the file and the bad line', () => {
    assert.throws(() => parseEnvFile('1BAD=x', 'my.env'), /"1BAD=x" in my.env/);
  });
});
