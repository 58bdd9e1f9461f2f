// What the Sandboxes tree shows for a given Docker state (pure; the e2e tier checks it on screen).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxDetails } from '../../../src/engine/types.js';
import { buildTree, contextValueOf, hiddenPaths, sandboxNode, uptime, workspaceSummary, type SandboxView } from '../../../src/vscode/treeModel.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

function details(over: Partial<SandboxDetails> = {}): SandboxDetails {
  const workspace = over.workspace ?? '/home/me/app';
  return {
    name: 'paddock-shell-app-123456', id: 'c0ffee', workspace, agent: 'shell', status: 'running', runtime: 'runc',
    image: 'paddock-shell:8d194076240f', created: '2026-11-23T11:00:00Z', startedAt: '2026-11-23T11:58:30Z', ports: [],
    mounts: [
      { type: 'bind', source: workspace, target: workspace, readOnly: false },
      { type: 'bind', source: '/dev/null', target: `${workspace}/.env`, readOnly: true },
      { type: 'tmpfs', source: '', target: `${workspace}/secrets`, readOnly: true },
      { type: 'bind', source: `${workspace}/.paddock`, target: `${workspace}/.paddock`, readOnly: true },
    ],
    envNames: [], injectedKeys: [], limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, user: { uid: 1000, gid: 1000 },
    ...over,
  };
}

const view = (over: Partial<SandboxDetails> = {}, extra: Partial<SandboxView> = {}): SandboxView => ({
  details: details(over), network: { policy: 'deny', allow: ['docs.example.com'], deny: [] }, bridgeContainers: [], ...extra,
});

describe('sandbox tree model', () => {
  it('counts only hiding mounts (/dev/null files, tmpfs folders), not the workspace or read-only cage binds', () => {
    assert.deepEqual(hiddenPaths(details()), ['/home/me/app/.env', '/home/me/app/secrets']);
  });

  it('describes a sandbox by state, uptime, hidden count, ports, runtime and template', () => {
    const node = sandboxNode(view({ ports: [{ containerPort: 3000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 49153 }], runtime: 'runsc' }), NOW);
    assert.equal(node.label, 'Shell');
    assert.equal(node.description, 'running 1m · 2 hidden · :49153 · runsc · shell');
    assert.equal(node.contextValue, 'runningSandbox');
    assert.equal(node.icon?.id, 'vm-running');
    const [hidden, ports, network, bridge] = node.children!;
    assert.deepEqual(hidden.children!.map((c) => c.label), ['.env', 'secrets']);
    assert.equal(hidden.children![0].resourcePath, '/home/me/app/.env');
    assert.deepEqual(ports.children!.map((c) => c.label), ['127.0.0.1:49153 → 3000/tcp']);
    assert.equal(network.description, 'deny by default');
    assert.deepEqual(network.children!.map((c) => `${c.label} ${c.description}`), ['docs.example.com allowed']);
    // Empty groups say so instead of showing nothing.
    assert.deepEqual(bridge.children!.map((c) => c.label), ['No reachable containers']);
  });

  it('the tooltip says which API keys the proxy injects (never a value)', () => {
    assert.match(sandboxNode(view({ injectedKeys: ['anthropic', 'openai'] }), NOW).tooltip!, /^API keys: anthropic, openai, injected by the egress proxy \(not in the sandbox\)$/m);
    assert.match(sandboxNode(view(), NOW).tooltip!, /^API keys: none injected$/m);
  });

  it('a sandbox its own guard stopped says so in its description and tooltip', () => {
    const why = 'protection lifted: /home/me/app/.env (hidden) replaced or removed on the host, which lifted its mount';
    const node = sandboxNode(view({ status: 'stopped', startedAt: undefined }, { stoppedBecause: why }), NOW);
    assert.match(node.description!, /^stopped itself · /);
    assert.match(node.tooltip!, /^Stopped itself: protection lifted: \/home\/me\/app\/\.env \(hidden\)/m);
    assert.match(sandboxNode(view({ status: 'stopped', startedAt: undefined }), NOW).description!, /^stopped · /, 'stopped by the user: plain');
  });

  it('says when a group is empty and when the policy cannot be read', () => {
    const node = sandboxNode(view({ mounts: [], ports: [] }, { network: undefined, policyError: 'The policy file is not valid' }), NOW);
    const [hidden, ports, network] = node.children!;
    assert.equal(hidden.children![0].label, 'Nothing hidden');
    assert.equal(ports.children![0].label, 'No published ports');
    assert.equal(network.description, 'policy not readable');
    assert.equal(network.tooltip, 'The policy file is not valid');
  });

  it('gives each state the context value its menu is matched by', () => {
    assert.equal(contextValueOf('running'), 'runningSandbox');
    assert.equal(contextValueOf('stopped'), 'stoppedSandbox');
    assert.equal(contextValueOf('created'), 'stoppedSandbox');
    assert.equal(contextValueOf('dead'), 'stoppedSandbox');
    assert.equal(contextValueOf('paused'), 'pausedSandbox');
    assert.equal(contextValueOf('restarting'), 'busySandbox');
    const stopped = sandboxNode(view({ status: 'stopped', startedAt: undefined }), NOW);
    assert.match(stopped.description!, /^stopped · /);
  });

  it('groups by workspace folder in folder order, nested folders to the deepest, others only when asked', () => {
    const folders = [{ name: 'web', path: '/w/web' }, { name: 'api', path: '/w/api' }, { name: 'lib', path: '/w/api/lib' }];
    const sandboxes = [
      view({ id: '1', name: 'a', workspace: '/w/api', agent: 'shell' }),
      view({ id: '2', name: 'b', workspace: '/w/web', agent: 'claude' }),
      view({ id: '3', name: 'c', workspace: '/w/api/lib', agent: 'codex' }),
      view({ id: '4', name: 'd', workspace: '/elsewhere/x', agent: 'shell' }),
      view({ id: '5', name: 'e', workspace: '/w/api', agent: 'claude' }),
      view({ id: '6', name: 'f', workspace: '/w/web-old', agent: 'shell' }),
    ];
    const tree = buildTree(folders, sandboxes, NOW);
    assert.deepEqual(tree.map((n) => n.label), ['web', 'api', 'lib']);
    assert.deepEqual(tree[1].children!.map((c) => c.sandbox!.name), ['e', 'a'], 'sorted by agent');
    const all = buildTree(folders, sandboxes, NOW, true);
    assert.deepEqual(all.map((n) => `${n.label}:${n.contextValue}`), ['web:openWorkspace', 'api:openWorkspace', 'lib:openWorkspace', 'x:otherWorkspace', 'web-old:otherWorkspace']);
    // With no folder open, every sandbox is shown.
    assert.equal(buildTree([], sandboxes, NOW).length, 5);
  });

  it('formats uptimes and the status bar summary', () => {
    assert.equal(uptime('2026-11-23T11:59:55Z', NOW), '<1m');
    assert.equal(uptime('2026-11-23T09:30:00Z', NOW), '2h 30m');
    assert.equal(uptime('2026-11-21T10:00:00Z', NOW), '2d 2h');
    assert.equal(uptime(undefined, NOW), undefined);
    const views = [view({ workspace: '/w/api', agent: 'shell' }), view({ workspace: '/w/api', agent: 'claude', status: 'stopped' })];
    assert.deepEqual(workspaceSummary('/w/api', views), { text: '1/2 running', running: 1, total: 2 });
    assert.deepEqual(workspaceSummary('/w/api', views.slice(0, 1)), { text: 'shell running', running: 1, total: 1 });
    assert.deepEqual(workspaceSummary('/w/web', views), { text: 'no sandbox', running: 0, total: 0 });
  });
});
