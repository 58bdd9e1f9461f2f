import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EgressLogEntry } from '../../../src/proxy/log.js';
import {
  allowRuleFor, classify, describeFilter, matches, refusalRows, refusals, removedFilterMessage, stillRefused, terminalHint, ALL_ACTIVITY, SHOW_NETWORK_ACTIVITY_LINK,
} from '../../../src/vscode/networkActivityModel.js';
import { networkGroup, type SandboxView } from '../../../src/vscode/treeModel.js';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const entry = (fields: Partial<EgressLogEntry>): EgressLogEntry => ({
  time: at(0), sandbox: 'sb', method: 'CONNECT', host: 'h.test', port: 443, decision: 'allow', rule: 'allow h.test', bytesSent: 0, bytesReceived: 0, ...fields,
});

describe('network activity: the cause of each decision', () => {
  it('says why a request was refused, in words', () => {
    const cause = (f: Partial<EgressLogEntry>) => classify('sb', entry(f));
    assert.deepEqual([cause({ decision: 'deny', rule: 'policy deny' }).kind, cause({ decision: 'deny', rule: 'policy deny' }).cause], ['denied', 'no rule allows it (network.policy deny)']);
    assert.equal(cause({ decision: 'deny', rule: 'policy deny (the user was asked)' }).cause, 'no rule allows it (network.policy deny); the user was asked');
    assert.equal(cause({ decision: 'deny', rule: 'deny *.evil.test' }).cause, 'denied by the rule "*.evil.test"');
    assert.equal(cause({ decision: 'deny', rule: 'private 10.0.0.0/8 address (h.test resolved to 10.1.2.3)' }).cause, 'its address is refused: private 10.0.0.0/8 address (h.test resolved to 10.1.2.3)');
    assert.equal(cause({ decision: 'deny', rule: 'host header mismatch', status: 400 }).cause, 'the Host header names another host');
    const dns = cause({ decision: 'error', rule: 'allow h.test', error: 'Cannot resolve h.test: ENOTFOUND.', status: 502 });
    assert.deepEqual([dns.kind, dns.cause], ['error', 'name did not resolve upstream (ENOTFOUND)']);
    assert.equal(cause({ decision: 'error', error: 'h.test has no address.' }).cause, 'name has no address upstream');
  });

  it('tells an allowed request that failed from one that worked, and a closed client is not a failure', () => {
    const failed = classify('sb', entry({ error: 'ECONNREFUSED 10.0.0.1:443', status: 502 }));
    assert.deepEqual([failed.kind, failed.cause], ['error', 'allowed (allow h.test), but the connection failed: ECONNREFUSED 10.0.0.1:443']);
    assert.equal(classify('sb', entry({ error: 'client closed' })).kind, 'allowed');
    assert.equal(classify('sb', entry({ rule: 'policy allow' })).cause, 'allowed (network.policy allow)');
    assert.equal(classify('sb', entry({})).cause, 'allowed by the rule "h.test"');
  });

  it('shows rules changes with what changed and who changed it, and a refused rules file as an error', () => {
    const change = classify('sb', entry({ method: 'RULES', host: '-', port: 0, decision: 'rules', rule: 'deny + 2 allow', cut: 1,
      change: { added: { allow: ['h.test'], deny: [] }, removed: { allow: [], deny: ['x.test'] }, policyChanged: false, policy: 'deny', source: 'editor: Allow', changedAt: at(0) } as any }));
    assert.deepEqual([change.kind, change.cause], ['rules', 'rules changed by editor: Allow: +allow h.test, -deny x.test (1 open connection cut)']);
    const atStart = classify('sb', entry({ method: 'RULES', host: '-', port: 0, decision: 'rules', rule: 'policy deny, 21 allow, 0 deny',
      change: { added: { allow: [], deny: [] }, removed: { allow: [], deny: [] }, policyChanged: false, policy: 'deny', source: 'create', changedAt: at(0) } as any }));
    assert.equal(atStart.cause, 'rules in force by create: policy deny, 21 allow, 0 deny');
    assert.equal(classify('sb', entry({ method: 'RULES', decision: 'error', error: 'bad JSON; the rules in force stay' })).cause, 'rules file refused: bad JSON; the rules in force stay');
  });

  it('filters by decision and sandbox and says what the filter hides', () => {
    const denied = classify('a', entry({ decision: 'deny', rule: 'policy deny' }));
    assert.ok(matches(denied, ALL_ACTIVITY));
    assert.ok(!matches(denied, { sandboxes: ['b'], kinds: ['denied'] }));
    assert.ok(!matches(denied, { sandboxes: [], kinds: ['allowed', 'error'] }));
    assert.equal(describeFilter(ALL_ACTIVITY), undefined);
    assert.equal(describeFilter({ sandboxes: ['a'], kinds: ['denied', 'error'] }), 'denied, error · a');
  });

  it('says when a sandbox of the filter was removed, and why the list is then empty', () => {
    const exists = (s: string) => s === 'b';
    assert.equal(describeFilter({ sandboxes: ['a', 'b'], kinds: ['denied'] }, exists), 'denied · a (removed), b');
    // b is still listed: no message.
    assert.equal(removedFilterMessage({ sandboxes: ['a', 'b'], kinds: ['denied'] }, exists), undefined);
    assert.match(removedFilterMessage({ sandboxes: ['a'], kinds: ['denied'] }, exists) ?? '', /^The sandbox a was removed, so nothing is listed\. Filter\.\.\./);
    assert.match(removedFilterMessage({ sandboxes: ['a', 'c'], kinds: ['denied'] }, exists) ?? '', /^The sandboxes a, c were removed/);
    // No sandbox picked (this window's): nothing can have been removed.
    assert.equal(removedFilterMessage(ALL_ACTIVITY, exists), undefined);
    assert.equal(describeFilter({ sandboxes: ['b'], kinds: ['denied', 'error', 'allowed', 'rules'] }, exists), 'b');
  });
});

describe('network activity: refused hosts', () => {
  const events = [
    classify('sb', entry({ time: at(1), host: 'a.test', decision: 'deny', rule: 'policy deny' })),
    classify('sb', entry({ time: at(2), host: 'b.test', port: 8080, decision: 'error', error: 'Cannot resolve b.test: EAI_AGAIN.' })),
    classify('sb', entry({ time: at(3), host: 'a.test', decision: 'deny', rule: 'policy deny' })),
    classify('sb', entry({ time: at(4), host: 'ok.test' })),
    classify('other', entry({ time: at(5), host: 'c.test', decision: 'deny', rule: 'policy deny' })),
    classify('sb', entry({ time: at(6), host: 'cut.test', decision: 'deny', rule: 'deny cut.test', error: 'cut: the rules changed' })),
  ];

  it('lists each refused host once, newest refusal first, counting repeats, for one sandbox and after a time', () => {
    const list = refusals(events, 'sb', 0);
    assert.deepEqual(list.map((r) => [r.host, r.port, r.count, r.kind]), [['a.test', 443, 2, 'denied'], ['b.test', 8080, 1, 'error']]);
    assert.deepEqual(refusals(events, 'sb', T0 + 2500).map((r) => r.host), ['a.test']);
    assert.deepEqual(refusals(events, 'sb', 0, 1).map((r) => r.host), ['a.test']);
  });

  it('the terminal hint names the hosts with their causes, the link to the view, and the allow command for a host no rule names', () => {
    const lines = terminalHint('sb', refusals(events, 'sb', 0));
    assert.equal(lines.length, 2);
    assert.match(lines[0], /a\.test:443 \(no rule allows it \(network\.policy deny\)\), b\.test:8080 \(name did not resolve upstream \(EAI_AGAIN\)\)/);
    assert.ok(lines[1].startsWith(`[paddock] ${SHOW_NETWORK_ACTIVITY_LINK}`));
    assert.match(lines[1], /paddock network allow sb a\.test"/);
    assert.deepEqual(terminalHint('sb', []), []);
  });

  it('the hint leaves out hosts the rules in force allow since their refusal, and keeps the rest', () => {
    const refused = refusals([...events, classify('sb', entry({ time: at(7), host: 'later.test', port: 8080, decision: 'deny', rule: 'deny later.test' }))], 'sb', 0);
    assert.deepEqual(refused.map((r) => r.host), ['later.test', 'a.test', 'b.test']);
    // a.test allowed since (paddock network allow, or Allow in the editor): not named; b.test failed upstream: still named.
    const after = stillRefused(refused, { policy: 'deny', allow: ['a.test'], deny: ['later.test'] });
    assert.deepEqual(after.map((r) => r.host), ['later.test', 'b.test']);
    assert.doesNotMatch(terminalHint('sb', after).join('\n'), /a\.test/);
    // The deny rule removed and its host:port allowed: gone too. A deny rule still wins over an allow.
    assert.deepEqual(stillRefused(refused, { policy: 'deny', allow: ['later.test:8080'], deny: [] }).map((r) => r.host), ['a.test', 'b.test']);
    assert.deepEqual(stillRefused(refused, { policy: 'deny', allow: ['a.test', 'later.test:8080'], deny: ['a.test'] }).map((r) => r.host), ['a.test', 'b.test']);
    // network.policy allow lets every refused-for-want-of-a-rule host through.
    assert.deepEqual(stillRefused(refused, { policy: 'allow', allow: [], deny: ['later.test'] }).map((r) => r.host), ['later.test', 'b.test']);
    // The rules could not be read: every refusal is named, as before.
    assert.deepEqual(stillRefused(refused, undefined).map((r) => r.host), ['later.test', 'a.test', 'b.test']);
  });

  it('Allow writes the host for HTTPS and host:port otherwise', () => {
    assert.equal(allowRuleFor('a.test', 443), 'a.test');
    assert.equal(allowRuleFor('a.test', 8080), 'a.test:8080');
    assert.equal(allowRuleFor('::1', 80), '[::1]:80');
  });

  it('tree rows offer Allow only where a rule would let the host through, and say when the rules in force allow it now', () => {
    const list = refusals(events, 'sb', 0);
    const denyAll = { policy: 'deny' as const, rules: [] };
    const rows = refusalRows('g', list, denyAll, T0 + 65_000);
    assert.equal(rows[0].contextValue, 'refusedHost');
    assert.match(rows[0].description, /^denied 1m ago \(2×\) · no rule allows it/);
    assert.equal(rows[1].contextValue, undefined, 'a name that does not resolve is not fixed by a rule');
    const allowed = refusalRows('g', list, { policy: 'deny', rules: [{ list: 'allow', rule: 'a.test' }] }, T0 + 65_000);
    assert.match(allowed[0].description, /^allowed now/);
    assert.equal(allowed[0].contextValue, undefined);
    const byRule = refusalRows('g', [{ host: 'x.test', port: 443, cause: 'denied by the rule "x.test"', kind: 'denied', at: T0, count: 1, rule: 'deny x.test' }], denyAll, T0);
    assert.equal(byRule[0].contextValue, undefined, 'a deny rule wins over an allow rule: Allow would not help');
  });

  it('the Network group of the tree lists the refused hosts first, with the host for its Allow action', () => {
    const view = {
      details: { id: 'id1', name: 'sb', workspace: '/w', agent: 'shell', status: 'running' } as any,
      enforced: { policy: 'deny', rules: [{ list: 'allow', rule: 'api.test', from: 'policy' }] },
      network: { policy: 'deny', allow: ['api.test'], deny: [] },
      refused: refusals(events, 'sb', 0),
    } as unknown as SandboxView;
    const group = networkGroup('sandbox/id1', view, { id: 'id1', name: 'sb', workspace: '/w', agent: 'shell', status: 'running' });
    const rows = group.children ?? [];
    assert.deepEqual(rows.map((r) => r.label), ['a.test:443', 'b.test:8080', 'api.test']);
    assert.deepEqual(rows[0].host, { host: 'a.test', port: 443 });
    assert.equal(rows[0].contextValue, 'refusedHost');
    assert.equal(rows[0].sandbox?.name, 'sb');
  });
});
