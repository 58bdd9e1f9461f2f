// Egress rules, mostly from the attacker's side: every other spelling of a denied host must be
// decided like the host itself, and nothing that is not a host may pass as one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEgressRules, compileRule, decide, decideAddress, EgressRuleError, normalizeHost, splitHostPort, specialRange } from '../../../src/core/egress.js';
import { defaultPolicy } from '../../../src/core/policy.js';

const rules = compileEgressRules({
  policy: 'deny',
  allow: ['allowed.test', '*.pkg.test', 'api.test:443', '203.0.113.7', '198.51.100.0/24', 'xn--bcher-kva.test', 'lan.test', '10.9.8.7', '2001:db8::/32'],
  deny: ['evil.pkg.test', '198.51.100.66', '*.ads.pkg.test'],
});
const verdict = (host: string, port = 80) => {
  const d = decide(rules, normalizeHost(host), port);
  return `${d.allowed ? 'allow' : 'deny'}: ${d.rule}`;
};

describe('egress host normalisation', () => {
  it('reads every inet_aton spelling of an IPv4 address as the dotted address', () => {
    for (const spelling of ['127.0.0.1', '2130706433', '0x7f000001', '0x7f.1', '017700000001', '0177.0.0.1', '127.1', '127.0.0.1.', '0X7F.0.0.1']) {
      assert.deepEqual(normalizeHost(spelling), { kind: 'ip', ip: '127.0.0.1', family: 4 }, spelling);
    }
  });
  it('reads IPv4-mapped IPv6 as the IPv4 host it reaches, and compresses IPv6', () => {
    assert.deepEqual(normalizeHost('[::ffff:127.0.0.1]'), { kind: 'ip', ip: '127.0.0.1', family: 4 });
    assert.deepEqual(normalizeHost('::ffff:7f00:1'), { kind: 'ip', ip: '127.0.0.1', family: 4 });
    assert.deepEqual(normalizeHost('[0:0:0:0:0:0:0:1]'), { kind: 'ip', ip: '::1', family: 6 });
    assert.deepEqual(normalizeHost('2001:DB8:0::1'), { kind: 'ip', ip: '2001:db8::1', family: 6 });
  });
  it('folds case, trailing dots, full-width characters and Unicode (to punycode)', () => {
    assert.deepEqual(normalizeHost('ALLOWED.Test.'), { kind: 'name', name: 'allowed.test' });
    assert.deepEqual(normalizeHost('allowed.test..'), { kind: 'name', name: 'allowed.test' });
    assert.deepEqual(normalizeHost('ａｌｌｏｗｅｄ．ｔｅｓｔ'), { kind: 'name', name: 'allowed.test' });
    assert.deepEqual(normalizeHost('bücher.test'), { kind: 'name', name: 'xn--bcher-kva.test' });
    assert.deepEqual(normalizeHost('BÜCHER.test'), { kind: 'name', name: 'xn--bcher-kva.test' });
  });
  it('refuses what is not a host: userinfo, paths, escapes, spaces, zone ids, numeric last labels, empty labels', () => {
    for (const bad of ['evil.test@allowed.test', 'allowed.test/evil', 'allowed.test\\evil', '%61llowed.test', 'allowed.test evil.test', 'allowed.test#x',
      'allowed.test?x', '', ' ', '[fe80::1%eth0]', 'allowed.123', 'a..test', '-a.test', 'a-.test', `${'a'.repeat(64)}.test`, '1.2.3.4.5', 'x:y:z.test', '[allowed.test]']) {
      assert.throws(() => normalizeHost(bad), EgressRuleError, JSON.stringify(bad));
    }
  });
  it('splits host:port and refuses ports out of range', () => {
    assert.deepEqual(splitHostPort('a.test:443'), { host: 'a.test', port: 443 });
    assert.deepEqual(splitHostPort('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(splitHostPort('::1', 443), { host: '::1', port: 443 });
    assert.deepEqual(splitHostPort('a.test', 80), { host: 'a.test', port: 80 });
    for (const bad of ['a.test:0', 'a.test:65536', 'a.test:http', 'a.test:-1', 'a.test:443:1', 'a.test:']) assert.throws(() => splitHostPort(bad), EgressRuleError, bad);
  });
});

describe('egress decisions', () => {
  it('allows exact hosts and their other spellings; denies unlisted hosts by the policy', () => {
    assert.equal(verdict('allowed.test'), 'allow: allow allowed.test');
    assert.equal(verdict('ALLOWED.TEST.'), 'allow: allow allowed.test');
    assert.equal(verdict('bücher.test'), 'allow: allow xn--bcher-kva.test');
    assert.equal(verdict('other.test'), 'deny: policy deny');
    assert.equal(verdict('allowed.test.evil.test'), 'deny: policy deny');
    assert.equal(verdict('evilallowed.test'), 'deny: policy deny');
    assert.equal(verdict('sub.allowed.test'), 'deny: policy deny');
  });
  it('"*.example.com" matches subdomains at any depth but not the apex or look-alike suffixes', () => {
    assert.equal(verdict('a.pkg.test'), 'allow: allow *.pkg.test');
    assert.equal(verdict('a.b.c.pkg.test'), 'allow: allow *.pkg.test');
    assert.equal(verdict('pkg.test'), 'deny: policy deny');
    assert.equal(verdict('evilpkg.test'), 'deny: policy deny');
    assert.equal(verdict('pkg.test.evil.test'), 'deny: policy deny');
  });
  it('lets a deny rule win over any allow rule, whatever the spelling', () => {
    assert.equal(verdict('evil.pkg.test'), 'deny: deny evil.pkg.test');
    assert.equal(verdict('EVIL.pkg.test.'), 'deny: deny evil.pkg.test');
    assert.equal(verdict('ｅｖｉｌ.pkg.test'), 'deny: deny evil.pkg.test');
    assert.equal(verdict('x.ads.pkg.test'), 'deny: deny *.ads.pkg.test');
    assert.equal(verdict('198.51.100.66'), 'deny: deny 198.51.100.66');
    assert.equal(verdict('3325256770'), 'deny: deny 198.51.100.66');
    assert.equal(verdict('[::ffff:198.51.100.66]'), 'deny: deny 198.51.100.66');
  });
  it('limits host:port rules to that port', () => {
    assert.equal(verdict('api.test', 443), 'allow: allow api.test:443');
    assert.equal(verdict('api.test', 22), 'deny: policy deny');
  });
  it('matches IP literals only by address rules, in any spelling', () => {
    assert.equal(verdict('203.0.113.7'), 'allow: allow 203.0.113.7');
    assert.equal(verdict('0xcb007107'), 'allow: allow 203.0.113.7');
    assert.equal(verdict('198.51.100.9'), 'allow: allow 198.51.100.0/24');
    assert.equal(verdict('[2001:db8::5]'), 'allow: allow 2001:db8::/32');
    assert.equal(verdict('203.0.113.8'), 'deny: policy deny');
  });
  it('with policy allow, lets unlisted hosts through but still applies deny rules', () => {
    const open = compileEgressRules({ policy: 'allow', allow: [], deny: ['evil.test'] });
    assert.deepEqual(decide(open, normalizeHost('anything.test'), 80), { allowed: true, rule: 'policy allow' });
    assert.deepEqual(decide(open, normalizeHost('Evil.Test.'), 80), { allowed: false, rule: 'deny evil.test' });
  });
});

describe('egress address checks (DNS rebinding, metadata, the host)', () => {
  it('refuses loopback, private, link-local and other special addresses that no address rule allows', () => {
    for (const [address, range] of [['127.0.0.1', 'loopback'], ['10.0.0.1', 'private'], ['172.20.0.5', 'private'], ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local'], ['0.0.0.0', 'this network'], ['100.64.1.1', 'shared address space'], ['::1', 'loopback'], ['fd12::1', 'unique local'],
      ['fe80::1', 'link-local'], ['::ffff:169.254.169.254', 'link-local'], ['224.0.0.1', 'multicast'], ['64:ff9b::7f00:1', 'NAT64']] as const) {
      const d = decideAddress(rules, address, 80);
      assert.equal(d.allowed, false, address);
      assert.match(d.rule, new RegExp(`^${range} .* address$`), address);
    }
  });
  it('lets a special address through only when an allow rule names it by address', () => {
    assert.deepEqual(decideAddress(rules, '10.9.8.7', 80), { allowed: true, rule: 'allow 10.9.8.7' });
    // Allowing the name lan.test is not enough for it to resolve to a private address.
    assert.equal(decide(rules, normalizeHost('lan.test'), 80).allowed, true);
    assert.equal(decideAddress(rules, '10.9.8.8', 80).allowed, false);
  });
  it('applies address deny rules to resolved addresses; public addresses pass', () => {
    assert.deepEqual(decideAddress(rules, '198.51.100.66', 80), { allowed: false, rule: 'deny 198.51.100.66' });
    assert.deepEqual(decideAddress(rules, '203.0.113.200', 80), { allowed: true, rule: 'public address' });
    assert.equal(specialRange('8.8.8.8', 4), undefined);
  });
});

describe('egress rules in the policy', () => {
  it('compiles the default allow list without errors', () => {
    const compiled = compileEgressRules(defaultPolicy().network);
    assert.deepEqual(compiled.errors, []);
    assert.equal(compiled.policy, 'deny');
    assert.equal(decide(compiled, normalizeHost('api.anthropic.com'), 443).allowed, true);
    assert.equal(decide(compiled, normalizeHost('attacker.test'), 443).allowed, false);
  });
  it('says which rule is wrong and why, and keeps the good ones', () => {
    const compiled = compileEgressRules({ policy: 'deny', allow: ['ok.test', '*', 'a.*.test', 'x.test:99999', '10.0.0.0/33', 'user@host.test', '*.10.0.0.1', 'host/path'], deny: ['not a host'] });
    assert.deepEqual(compiled.allow.map((r) => r.text), ['ok.test']);
    assert.equal(compiled.errors.length, 8);
    assert.match(compiled.errors[0], /^network\.allow\[1\]: .*set network\.policy to allow/);
    assert.match(compiled.errors[1], /^network\.allow\[2\]: .*first label/);
    assert.match(compiled.errors[2], /port must be a number/);
    assert.match(compiled.errors[3], /prefix length is too long/);
    assert.match(compiled.errors[4], /contains "@"/);
    assert.match(compiled.errors[5], /wildcards apply to names/);
    assert.match(compiled.errors[7], /^network\.deny\[0\]/);
  });
  it('normalises rules like targets, so a rule written in another spelling still matches', () => {
    assert.equal(compileRule('ALLOWED.test.').host, 'allowed.test');
    assert.equal(compileRule('0x7f.1').host, '127.0.0.1');
    assert.equal(compileRule('[::ffff:10.0.0.1]').host, '10.0.0.1');
    assert.equal(compileRule('bücher.test:8443').port, 8443);
  });
});
