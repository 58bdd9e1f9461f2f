// The walkthrough ticks what is already done, once, and names the steps package.json declares.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stepId, stepsDone, StepTicks, WALKTHROUGH, walkthroughId } from '../../../src/vscode/walkthroughModel.js';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const none = { engineReady: false, sandboxInWindow: false, policyFile: false };

describe('walkthrough progress', () => {
  it('ticks the steps whose facts hold', () => {
    assert.deepEqual(stepsDone(none), []);
    assert.deepEqual(stepsDone({ ...none, engineReady: true, policyFile: true }), ['engine', 'policy']);
    assert.deepEqual(stepsDone({ engineReady: true, sandboxInWindow: true, policyFile: true }), ['engine', 'run', 'policy']);
  });

  it('ticks each step once, when it becomes done, and never unticks', () => {
    const ticks = new StepTicks();
    assert.deepEqual(ticks.due({ ...none, engineReady: true }), ['engine']);
    assert.deepEqual(ticks.due({ ...none, engineReady: true }), []);
    assert.deepEqual(ticks.due({ ...none, engineReady: false, sandboxInWindow: true }), ['run']);
    assert.deepEqual(ticks.due({ engineReady: true, sandboxInWindow: true, policyFile: true }), ['policy']);
  });

  it("uses VS Code's ids for the walkthrough and steps package.json contributes", () => {
    const extensionId = `${manifest.publisher}.${manifest.name}`;
    const contributed = manifest.contributes.walkthroughs.find((w: { id: string }) => w.id === WALKTHROUGH);
    assert.ok(contributed, `package.json has no walkthrough ${WALKTHROUGH}`);
    assert.equal(walkthroughId(extensionId), 'paddock.paddock#paddock.gettingStarted');
    const steps = contributed.steps.map((s: { id: string }) => s.id);
    for (const step of stepsDone({ engineReady: true, sandboxInWindow: true, policyFile: true })) {
      assert.ok(steps.includes(step), `step ${step} is not in package.json`);
      assert.equal(stepId(extensionId, step), `paddock.paddock#paddock.gettingStarted#${step}`);
    }
    // The one step the extension does not tick is ticked by running its command.
    const verify = contributed.steps.find((s: { id: string }) => s.id === 'verify');
    assert.ok(verify.completionEvents.includes('onCommand:paddock.verifyIsolation'));
  });
});
