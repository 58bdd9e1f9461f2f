// What the Sandboxes tree shows for a given Docker state (pure; the e2e tier checks it on screen).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxDetails } from '../../../src/engine/types.js';
import type { Finding } from '../../../src/core/drift/index.js';
import { annotationsFrom, buildTree, triedEngine, contextValueOf, hiddenPaths, offeredComposeProjects, sandboxNode, uptime, workspaceSummary, type SandboxView, type TreeNode } from '../../../src/vscode/treeModel.js';

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
  details: details(over), network: { policy: 'deny', allow: ['docs.example.com'], deny: [] },
  enforced: { policy: 'deny', rules: [{ list: 'allow', rule: 'docs.example.com', from: 'policy' }] }, bridgeContainers: [], ...extra,
});

describe('sandbox tree model', () => {
  it('counts only hiding mounts (/dev/null files, tmpfs folders), not the workspace or read-only cage binds', () => {
    assert.deepEqual(hiddenPaths(details()), ['/home/me/app/.env', '/home/me/app/secrets']);
  });

  it('describes a sandbox by state, uptime, hidden count, ports, runtime and template', () => {
    const node = sandboxNode(view({ ports: [{ containerPort: 3000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 49153 }], runtime: 'runsc' }), NOW);
    assert.equal(node.label, 'Shell');
    assert.equal(node.description, 'running 1m · 2 hidden · :49153 · runsc · shell');
    // After an apply the container runs from its kept state's image: the row still names the agent (it said "state").
    assert.equal(sandboxNode(view({ image: 'paddock-state:paddock-shell-app-123456-3' }), NOW).description, 'running 1m · 2 hidden · runc · shell, state kept');
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

  it('a sandbox an engine restart or the memory limit stopped says that, not "itself"', () => {
    const outside = sandboxNode(view({ status: 'stopped', startedAt: undefined }, { stoppedBecause: 'stopped outside Paddock (exit code 143): an engine or machine restart, or "docker stop", ended it; its state is kept and "paddock start paddock-shell-app-123456" brings it back' }), NOW);
    assert.match(outside.description!, /^stopped \(engine restart or docker stop\) · /);
    // The editor's own Start, not the CLI's command.
    assert.match(outside.tooltip!, /^Stopped: stopped outside Paddock \(exit code 143\): an engine or machine restart, or "docker stop", ended it; its state is kept; Start brings it back$/m);
    assert.match(sandboxNode(view({ status: 'stopped', startedAt: undefined }, { stoppedBecause: 'out of memory: the kernel ended it at its memory limit (4 GiB)' }), NOW).description!, /^stopped \(out of memory\) · /);
  });

  it('a sandbox its own guard stopped says so in its description and tooltip', () => {
    const why = 'protection lifted: /home/me/app/.env (hidden) replaced or removed on the host, which lifted its mount';
    const node = sandboxNode(view({ status: 'stopped', startedAt: undefined }, { stoppedBecause: why }), NOW);
    assert.match(node.description!, /^stopped itself · /);
    assert.match(node.tooltip!, /^Stopped itself: protection lifted: \/home\/me\/app\/\.env \(hidden\)/m);
    assert.match(sandboxNode(view({ status: 'stopped', startedAt: undefined }), NOW).description!, /^stopped · /, 'stopped by the user: plain');
  });

  it('says when a group is empty and when the policy cannot be read', () => {
    const node = sandboxNode(view({ mounts: [], ports: [] }, { network: undefined, enforced: undefined, policyError: 'The policy file is not valid' }), NOW);
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

  describe('the Network group shows what the proxy enforces', () => {
    const network = (extra: Partial<SandboxView>) => sandboxNode(view({}, extra), NOW).children![2];
    const lines = (n: TreeNode) => n.children!.map((c) => `${c.label}: ${c.description}`);

    it('lists the rules in force, not the file, and marks each difference with the action', () => {
      const n = network({
        network: { policy: 'deny', allow: ['docs.example.com', 'new.example.com'], deny: [] },
        enforced: { policy: 'deny', rules: [{ list: 'allow', rule: 'docs.example.com', from: 'policy' }, { list: 'allow', rule: 'old.example.com', from: 'policy' }] },
      });
      assert.deepEqual(lines(n), [
        'new.example.com: in the file, not in force — apply',
        'docs.example.com: allowed',
        'old.example.com: allowed · in force, not in the file — apply',
      ]);
      assert.equal(n.description, 'deny by default · 2 differ from the file');
      assert.equal(n.icon?.id, 'warning');
      const pending = n.children![0];
      assert.match(pending.tooltip!, /does not enforce it yet: it refuses it now\. Save the policy in the editor .* or run "paddock policy apply"/);
      assert.equal(pending.command?.id, 'paddock.openPolicy');
    });

    it('says where rules that are not the file\'s come from: this run, the machine\'s registries; deny wins', () => {
      const n = network({
        network: { policy: 'deny', allow: ['api.example.com'], deny: ['*.example.com'] },
        enforced: { policy: 'deny', rules: [
          { list: 'deny', rule: '*.example.com', from: 'policy' },
          { list: 'allow', rule: 'pypi.org', from: 'session' },
          { list: 'allow', rule: 'api.example.com', from: 'policy', overriddenBy: '*.example.com (policy)' },
          { list: 'allow', rule: 'registry.npmjs.org', from: 'host registries' },
        ] },
      });
      assert.deepEqual(lines(n), [
        '*.example.com: denied',
        'pypi.org: allowed for this run (not in the file)',
        'api.example.com: allowed, but denied by *.example.com (policy)',
        'registry.npmjs.org: allowed · package registry of this machine',
      ]);
      assert.equal(n.description, 'deny by default', 'no difference from the file');
      assert.equal(n.icon?.id, 'shield');
    });

    it('marks a default that differs, and falls back to the file (saying so) when the proxy cannot be read', () => {
      const differs = network({ network: { policy: 'allow', allow: [], deny: [] }, enforced: { policy: 'deny', rules: [] } });
      assert.equal(differs.description, 'deny by default · the file says allow — apply');
      assert.deepEqual(lines(differs), ['No host allowed: undefined']);
      const fallback = network({ enforced: undefined, enforcedError: 'no such container: paddock-egress-x' });
      assert.equal(fallback.description, 'deny by default · from the file, not read from the proxy');
      assert.deepEqual(lines(fallback), ['docs.example.com: allowed in the file']);
      assert.match(fallback.tooltip!, /no such container/);
    });
  });

  it('Bridge containers: the bridge\'s matches; empty, it says how to add some and offers the workspace\'s compose projects', () => {
    const reached = sandboxNode(view({}, { bridgeContainers: ['shop-api-1', 'shop-db-1'] }), NOW).children![3];
    assert.deepEqual(reached.children!.map((c) => c.label), ['shop-api-1', 'shop-db-1']);
    assert.equal(reached.description, '2');
    const empty = sandboxNode(view({}, { bridgeContainers: [], composeProjects: ['shop'] }), NOW).children![3];
    assert.deepEqual(empty.children!.map((c) => c.label), ['No reachable containers', 'Add compose project "shop"']);
    assert.match(empty.children![0].tooltip!, /bridge\.containers in \.paddock\/policy\.yaml/);
    assert.deepEqual(empty.children![1].command, { id: 'paddock.addBridgeContainers', title: 'Add to bridge.containers', args: ['/home/me/app', 'shop'] });
  });

  it('the add command takes only a project the tree offers (run from a link, "*" would reach every container)', () => {
    const offering = view({}, { bridgeContainers: [], composeProjects: ['shop'] });
    assert.deepEqual(offeredComposeProjects([offering], '/home/me/app'), ['shop']);
    assert.deepEqual(offeredComposeProjects([offering], '/home/me/other'), []);
    assert.deepEqual(offeredComposeProjects([view({}, { bridgeContainers: ['shop-api-1'], composeProjects: ['shop'] })], '/home/me/app'), [], 'not offered once the bridge reaches some');
    assert.ok(!offeredComposeProjects([offering], '/home/me/app').includes('*'));
  });

  it('a sandbox that policy check reports as "Not hidden until applied" is marked on its row, with the fix', () => {
    const node = sandboxNode(view({}, { notHiddenUntilRecreate: ['config/server.pem'] }), NOW);
    assert.equal(node.description, 'running 1m · 1 not hidden until applied · runc · shell');
    assert.deepEqual(node.icon, { id: 'warning', color: 'errorForeground' });
    assert.match(node.tooltip!, /^Not hidden until applied: config\/server\.pem — the sandbox can read it\. Apply changes \(right-click → Apply Changes, or "paddock apply SANDBOX"\) to hide them: a new container that keeps the sandbox's state/m);
    const exposed = node.children![0].children![0];
    assert.equal(`${exposed.label}: ${exposed.description}`, 'config/server.pem: not hidden until applied');
    assert.equal(exposed.command?.id, 'paddock.recreate');
    assert.equal(node.contextValue, 'runningSandbox', 'the menus (matched exactly) still apply');
  });

  it('a sandbox whose container differs from the policy file offers "Apply changes (keeps state)" first, and says what applying does', () => {
    const node = sandboxNode(view({}, { containerPolicyChanged: true }), NOW);
    assert.match(node.description!, / · apply changes \(keeps state\) · /);
    const apply = node.children![0];
    assert.equal(apply.label, 'Apply changes (keeps state)');
    assert.match(apply.description!, /^new container · hide rules, cage, env, limits or ports changed/);
    assert.match(apply.tooltip!, /keeps the sandbox's state .*network rules need no apply/);
    assert.equal(apply.command?.id, 'paddock.recreate');
    assert.equal(apply.sandbox?.name, node.sandbox?.name);
    assert.equal(sandboxNode(view(), NOW).children!.some((c) => c.label.startsWith('Apply changes')), false, 'nothing to apply: no row');
  });

  it('a hidden path that git still has shows as exposed through git, not as a lock', () => {
    const hidden = sandboxNode(view({}, { hiddenInGit: ['.env'] }), NOW).children![0];
    assert.equal(hidden.description, '2 · 1 exposed through git');
    const [env, secrets] = hidden.children!;
    assert.equal(env.description, 'exposed through git');
    assert.equal(env.icon?.id, 'warning');
    assert.match(env.tooltip!, /git show/);
    assert.equal(secrets.icon?.id, 'lock');
  });

  it('a click on a sandbox row never starts an agent; a hidden path reveals itself', () => {
    for (const status of ['running', 'stopped'] as const) assert.equal(sandboxNode(view({ status }), NOW).command, undefined);
    const path = sandboxNode(view(), NOW).children![0].children![0];
    assert.deepEqual(path.command, { id: 'paddock.revealHiddenPath', title: 'Reveal in Explorer', args: ['/home/me/app/.env'] });
  });

  it('reads "not hidden until applied" and "hidden in git" of one sandbox from the drift findings', () => {
    const range = { start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 };
    const findings: Finding[] = [
      { file: '/w/.paddock/policy.yaml', range, severity: 'error', rule: 'recreate-needed', paths: ['a.pem'], message: 'Not hidden until applied: sandbox one was created before a.pem existed', fixes: [{ kind: 'recreate-sandbox', title: 'Apply to sandbox one (state kept)', sandbox: 'one' }] },
      { file: '/w/.paddock/policy.yaml', range, severity: 'warning', rule: 'recreate-needed', paths: [], message: 'The policy changed since sandbox two was created', fixes: [{ kind: 'recreate-sandbox', title: 'Apply to sandbox two (state kept)', sandbox: 'two' }] },
      { file: '/w/.paddock/policy.yaml', range, severity: 'error', rule: 'hidden-in-git', paths: ['config/server.pem'], message: 'hidden, but git has it', fixes: [] },
    ];
    assert.deepEqual(annotationsFrom(findings, 'one'), { notHiddenUntilRecreate: ['a.pem'], hiddenInGit: ['config/server.pem'] });
    assert.deepEqual(annotationsFrom(findings, 'two'), { hiddenInGit: ['config/server.pem'] });
  });

  it('the no-engine view names the engine it tried, and when the user\'s own setting points there', () => {
    assert.equal(triedEngine({ host: 'tcp://127.0.0.1:1', source: 'setting' }), 'tcp://127.0.0.1:1 (your setting "paddock.dockerHost")');
    assert.equal(triedEngine({ host: 'unix:///var/run/docker.sock', source: 'default' }), 'unix:///var/run/docker.sock (the default engine)');
    assert.equal(triedEngine({ host: 'ssh://box', source: 'context remote' }), 'ssh://box (your Docker context remote)');
  });
});
