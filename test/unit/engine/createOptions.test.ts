// The options a sandbox was created with, kept across applies (src/engine/createOptions.ts), and
// what an apply tells the user changed (settingChanges in src/engine/apply.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPolicy } from '../../../src/core/policy.js';
import { settingChanges } from '../../../src/engine/apply.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOptionsFor, givenOptions, keepCreateOptions, recordOf } from '../../../src/engine/createOptions.js';

const policy = (over: Partial<{ env: Record<string, string>; resources: Record<string, unknown>; ports: (string | number)[] }> = {}) => ({ ...defaultPolicy(), ...over }) as any;

describe('keepCreateOptions', () => {
  const created = givenOptions({ cpus: '1', memory: '2g', ports: ['3000'], template: 'my/img:1', injectKeys: false }, { FOO: '1', BAR: 'b' });
  const record = recordOf(created, policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));

  it('keeps every option given at create when the apply gives none and the policy did not change them', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));
    assert.deepEqual(kept.given, { env: { FOO: '1', BAR: 'b' }, cpus: '1', memory: '2g', ports: ['3000'], template: 'my/img:1', injectKeys: false });
    assert.match(kept.notes.join('\n'), /Kept the options sb was created with: -e FOO, -e BAR, --cpus 1, --memory 2g, -p 3000, --template my\/img:1, --no-inject-keys/);
  });

  it('an option given again wins; the others stay', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({ cpus: '3' }, { FOO: '9' }), policy({ env: { BAR: 'from-policy' }, resources: { cpus: 2 } }));
    assert.equal(kept.given.cpus, '3');
    assert.deepEqual(kept.given.env, { BAR: 'b', FOO: '9' });
    assert.equal(kept.given.memory, '2g');
  });

  it('the policy wins where it changed the same thing since create, and the user is told', () => {
    const now = policy({ env: { BAR: 'new-policy', FOO: 'set-by-policy' }, resources: { cpus: 2, memory: '8g' }, ports: [8080] });
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), now);
    assert.deepEqual(kept.given.env, undefined, 'FOO and BAR are the policy\'s now');
    assert.equal(kept.given.cpus, '1', 'resources.cpus did not change: --cpus 1 stays');
    assert.equal(kept.given.memory, undefined);
    assert.equal(kept.given.ports, undefined);
    assert.match(kept.notes.join('\n'), /The policy changed env FOO, env BAR, resources\.memory, ports since sb was given them at create/);
  });

  it('a policy section removed since create counts as a change too (the defaults apply)', () => {
    const kept = keepCreateOptions('sb', record, givenOptions({}, {}), policy({ env: {}, resources: {} }));
    assert.equal(kept.given.env?.BAR, undefined);
    assert.equal(kept.given.cpus, undefined);
    assert.equal(kept.given.env?.FOO, '1');
  });

  it('a sandbox made before the record: only this apply\'s options, and a note that says so', () => {
    const kept = keepCreateOptions('sb', undefined, givenOptions({ memory: '1g' }, {}), policy());
    assert.deepEqual(kept.given, { memory: '1g' });
    assert.match(kept.notes[0], /created before Paddock kept the options/);
  });
});

describe('template build options (--base-image, --ca-cert, --no-host-ca)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-ca-unit-'));
  const caFile = join(dir, 'corp-ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const created = givenOptions({ templateOptions: { baseImage: 'corp/debian:12', caCertificates: [caFile], rebuild: true } }, {});
  rmSync(dir, { recursive: true, force: true }); // gone by the apply: its content was kept

  it('are kept with their content, so an apply builds the same template after the file is gone', () => {
    const kept = keepCreateOptions('sb', recordOf(created, policy()), givenOptions({}, {}), policy());
    assert.equal(kept.given.baseImage, 'corp/debian:12');
    assert.equal(Buffer.from(kept.given.caCertificates![0].base64, 'base64').toString(), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    assert.match(kept.notes.join('\n'), /Kept the options sb was created with: --base-image corp\/debian:12, --ca-cert .*corp-ca\.pem/);
    const build = buildOptionsFor({ rebuild: false }, kept.given);
    assert.equal(build.baseImage, 'corp/debian:12');
    assert.equal(build.rebuild, false, '--rebuild is never kept: it is for one build');
  });

  it('a plain start (nothing given) builds with what the sandbox was created with; an option given wins', () => {
    assert.equal(buildOptionsFor(undefined, givenOptions({}, {}), created).baseImage, 'corp/debian:12');
    assert.equal(buildOptionsFor(undefined, givenOptions({}, {}), created).caCertificates?.length, 1);
    assert.equal(buildOptionsFor(undefined, givenOptions({ templateOptions: { baseImage: 'other:1' } }, {}), created).baseImage, 'other:1');
    assert.deepEqual(buildOptionsFor(undefined, givenOptions({}, {}), undefined), {}, 'no record: the defaults (host CAs, debian)');
  });

  it('--no-host-ca (no certificates) is kept as such, and said', () => {
    const none = givenOptions({ templateOptions: { caCertificates: [] } }, {});
    const kept = keepCreateOptions('sb', recordOf(none, policy()), givenOptions({}, {}), policy());
    assert.deepEqual(kept.given.caCertificates, []);
    assert.match(kept.notes.join('\n'), /--no-host-ca/);
  });

  it('a certificate that cannot be read stops the request and names the file', () => {
    assert.throws(() => givenOptions({ templateOptions: { caCertificates: ['/nonexistent/ca.pem'] } }, {}), /Cannot read the CA certificate \/nonexistent\/ca\.pem/);
  });
});

describe('settingChanges', () => {
  const base = { limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, ports: [], runtime: 'runc', env: ['PATH=/bin', 'FOO=1', 'OLD=x'] } as any;

  it('names env variables (never values), limits, ports and runtime that changed', () => {
    const now = { limits: { cpus: 1, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, ports: [{ containerPort: 3000, protocol: 'tcp', hostPort: 49000, hostIp: '127.0.0.1' }], runtime: 'runsc', env: ['PATH=/bin', 'FOO=secret-2', 'NEW=y', 'OLD'] } as any;
    const text = settingChanges(base, now, 'sb');
    assert.equal(text, 'Changed in sb: env NEW added; env FOO changed; env OLD removed; CPUs 2 -> 1; port 3000/tcp published; runtime runc -> runsc.');
    assert.doesNotMatch(text, /secret-2/);
  });

  it('says when nothing of these changed', () => {
    assert.match(settingChanges(base, base, 'sb'), /unchanged/);
  });
});

describe('the egress network a sandbox keeps (PADDOCK_EGRESS_NETWORK)', () => {
  it('is the one recorded at create, whatever the variable of a later process says', async () => {
    const { egressNetworkOf, recordEgressNetwork } = await import('../../../src/engine/egressNetwork.js');
    const { egressPaths } = await import('../../../src/engine/egressFiles.js');
    const { mkdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'paddock-egress-net-'));
    const saved = { ...process.env };
    try {
      process.env.PADDOCK_NETWORK_DIR = dir;
      process.env.PADDOCK_EGRESS_NETWORK = 'corp-out';
      assert.equal(egressNetworkOf('sb-old'), 'corp-out', 'made before the record: this process\'s');
      mkdirSync(egressPaths('sb').dir, { recursive: true });
      recordEgressNetwork('sb', 'corp-out');
      delete process.env.PADDOCK_EGRESS_NETWORK;
      assert.equal(egressNetworkOf('sb'), 'corp-out', 'a start without the variable keeps it');
      process.env.PADDOCK_EGRESS_NETWORK = 'other';
      assert.equal(egressNetworkOf('sb'), 'corp-out', 'a start with another keeps it too');
    } finally {
      process.env.PADDOCK_NETWORK_DIR = saved.PADDOCK_NETWORK_DIR;
      if (saved.PADDOCK_NETWORK_DIR === undefined) delete process.env.PADDOCK_NETWORK_DIR;
      if (saved.PADDOCK_EGRESS_NETWORK === undefined) delete process.env.PADDOCK_EGRESS_NETWORK;
      else process.env.PADDOCK_EGRESS_NETWORK = saved.PADDOCK_EGRESS_NETWORK;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an apply says where the sandbox goes out when it is not the default bridge, and a change', async () => {
    const { egressNetworkNote } = await import('../../../src/engine/apply.js');
    assert.equal(egressNetworkNote('sb', 'bridge', 'bridge'), undefined);
    assert.equal(egressNetworkNote('sb', undefined, 'bridge'), undefined);
    assert.match(egressNetworkNote('sb', 'corp', 'corp')!, /sb still goes out through the network "corp" it was created with/);
    assert.match(egressNetworkNote('sb', 'corp', 'bridge')!, /sb goes out through the network "bridge" now \(PADDOCK_EGRESS_NETWORK of this apply\), no longer "corp"/);
  });
});
