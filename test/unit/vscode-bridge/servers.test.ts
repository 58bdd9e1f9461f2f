// Which MCP servers Paddock offers to VS Code's chat, and how each is started.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBridgeServers, plansKey } from '../../../src/core/bridgeServers.js';

const cli = { command: '/opt/code/node', script: '/ext/paddock/bin/paddock' };
const folders = [{ name: 'app', path: '/home/me/app' }, { name: 'notes', path: '/home/me/notes' }, { name: 'web', path: '/home/me/web' }];
const policies: Record<string, string> = { '/home/me/web': 'version: 1\ntier: strict\n' };
const policy = (f: string) => policies[f];

describe('MCP servers offered to VS Code', () => {
  it('one per folder with a sandbox (also in a sub-folder) or a policy file; none for other folders', () => {
    const plans = planBridgeServers(folders, ['/home/me/app/packages/api', '/home/me/elsewhere'], policy, cli);
    assert.deepEqual(plans.map((p) => p.label), ['Paddock bridge: app', 'Paddock bridge: web']);
    assert.deepEqual(planBridgeServers(folders, [], () => undefined, cli), []);
  });

  it('runs the bundled CLI\'s stdio bridge for the folder, with the engine chosen in the settings', () => {
    const [plan] = planBridgeServers([folders[2]], [], policy, cli, { host: 'ssh://me@box' });
    assert.equal(plan.command, '/opt/code/node');
    assert.deepEqual(plan.args, ['/ext/paddock/bin/paddock', '--host', 'ssh://me@box', 'bridge', '--stdio', '--workspace', '/home/me/web']);
    assert.deepEqual(planBridgeServers([folders[2]], [], policy, cli, { context: 'remote' })[0].args.slice(1, 3), ['--context', 'remote']);
    assert.deepEqual(planBridgeServers([folders[2]], [], policy, cli, { host: 'tcp://h:2376', context: 'remote' })[0].args.slice(1, 4), ['--host', 'tcp://h:2376', 'bridge'], 'the host setting wins, as in the engine');
  });

  it('a changed policy changes the version (the editor restarts the server), an unchanged one does not', () => {
    const v1 = planBridgeServers(folders, [], policy, cli)[0].version;
    assert.equal(planBridgeServers(folders, [], policy, cli)[0].version, v1);
    const v2 = planBridgeServers(folders, [], (f) => (f === '/home/me/web' ? 'version: 1\ntier: permissive\n' : undefined), cli)[0].version;
    assert.notEqual(v2, v1);
    assert.notEqual(plansKey(planBridgeServers(folders, [], policy, cli)), plansKey(planBridgeServers(folders, ['/home/me/app'], policy, cli)));
  });

  it('folders with the same name are told apart by their path', () => {
    const twins = [{ name: 'app', path: '/a/app' }, { name: 'app', path: '/b/app' }];
    assert.deepEqual(planBridgeServers(twins, ['/a/app', '/b/app'], () => undefined, cli).map((p) => p.label), ['Paddock bridge: app (/a/app)', 'Paddock bridge: app (/b/app)']);
  });
});
