// The Sandboxes tree marks a sandbox while a question about an unknown host waits (pure tree model;
// the e2e tier checks the mark on screen).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxDetails } from '../../../src/engine/types.js';
import { sandboxNode } from '../../../src/vscode/treeModel.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const details: SandboxDetails = {
  name: 'paddock-shell-app-123456', id: 'c0ffee', workspace: '/home/me/app', agent: 'shell', status: 'running', runtime: 'runc',
  image: 'paddock-shell:8d194076240f', created: '2026-11-23T11:00:00Z', startedAt: '2026-11-23T11:58:30Z', ports: [],
  mounts: [{ type: 'bind', source: '/home/me/app', target: '/home/me/app', readOnly: false }],
  envNames: [], injectedKeys: [], limits: { cpus: 2, memoryBytes: 4 * 1024 ** 3, pids: 1024 }, user: { uid: 1000, gid: 1000 },
};

describe('tree mark for network questions', () => {
  it('says how many hosts the sandbox asks about, with a question icon, and nothing once answered', () => {
    const asking = sandboxNode({ details, asking: 2 }, NOW);
    assert.match(asking.description!, /^running 1m · asks about 2 hosts · /);
    assert.equal(asking.icon?.id, 'question');
    assert.match(sandboxNode({ details, asking: 1 }, NOW).description!, /asks about 1 host · /);
    const answered = sandboxNode({ details }, NOW);
    assert.doesNotMatch(answered.description!, /asks about/);
    assert.equal(answered.icon?.id, 'vm-running');
  });
});
