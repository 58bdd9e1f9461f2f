import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_IDS, agentArgv, getAgent } from '../../../src/core/agents.js';
import { PaddockError } from '../../../src/core/errors.js';
import { defaultSandboxName, slug } from '../../../src/core/naming.js';

describe('agents', () => {
  it('starts each agent in the no-prompt mode that suits a sandbox, unless turned off', () => {
    assert.deepEqual(agentArgv(getAgent('claude'), ['-p', 'hi'], true), ['claude', '--dangerously-skip-permissions', '-p', 'hi']);
    assert.deepEqual(agentArgv(getAgent('gemini'), [], true), ['gemini', '--yolo']);
    assert.deepEqual(agentArgv(getAgent('codex'), [], true), ['codex', '--dangerously-bypass-approvals-and-sandbox']);
    assert.deepEqual(agentArgv(getAgent('claude'), [], false), ['claude']);
    assert.deepEqual(agentArgv(getAgent('shell'), [], true), ['bash', '--login']);
  });
  it('lists the known agents when asked for an unknown one', () => {
    assert.throws(() => getAgent('copilot'), (e: PaddockError) => /Unknown agent "copilot"/.test(e.message) && AGENT_IDS.every((a) => e.hint!.includes(a)));
  });
});

describe('sandbox names', () => {
  it('are stable per (workspace, agent) and readable', () => {
    const a = defaultSandboxName('/home/me/My Project', 'claude');
    assert.equal(a, defaultSandboxName('/home/me/My Project', 'claude'));
    assert.match(a, /^paddock-claude-my-project-[0-9a-f]{6}$/);
    assert.notEqual(a, defaultSandboxName('/srv/My Project', 'claude'));
    assert.notEqual(a, defaultSandboxName('/home/me/My Project', 'gemini'));
  });
  it('are valid Docker names for any folder name', () => {
    for (const folder of ['Ünïcödé', '...', '日本語', 'a'.repeat(200), '-x-']) {
      assert.match(defaultSandboxName(`/w/${folder}`, 'shell'), /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, folder);
    }
    assert.equal(slug('日本語'), 'workspace');
  });
});
