// The policy's env, resources and ports are the defaults of a new sandbox; command-line options win.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddockOk } from '../../support/sandbox.js';

const POLICY = 'version: 1\nenv: { FROM_POLICY: "policy value", BOTH: policy }\nresources: { cpus: 1, memory: 768m, pids: 200 }\nports: [3000]\n';

describe('policy env, resources and ports', () => {
  const made: string[] = [];
  after(async () => { for (const ws of made) await cleanup(ws); });

  it('apply when the command line says nothing', async () => {
    const ws = makeWorkspace({ '.paddock/policy.yaml': POLICY });
    made.push(ws);
    const sb = JSON.parse((await paddockOk(['create', 'shell', ws, '--json'])).stdout);
    assert.deepEqual(sb.limits, { cpus: 1, memoryBytes: 768 * 1024 ** 2, pids: 200 });
    assert.deepEqual(sb.ports.map((p: any) => [p.containerPort, p.hostIp]), [[3000, '127.0.0.1']]);
    assert.equal((await paddockOk(['exec', sb.name, '--', 'printenv', 'FROM_POLICY'])).stdout, 'policy value\n');
  });

  it('lose to command-line options', async () => {
    const ws = makeWorkspace({ '.paddock/policy.yaml': POLICY });
    made.push(ws);
    const sb = JSON.parse((await paddockOk(['create', 'shell', ws, '--json', '--cpus', '2', '-e', 'BOTH=cli', '-p', '4000'])).stdout);
    assert.equal(sb.limits.cpus, 2);
    assert.equal(sb.limits.pids, 200);
    assert.deepEqual(sb.ports.map((p: any) => p.containerPort), [4000]);
    assert.equal((await paddockOk(['exec', sb.name, '--', 'printenv', 'BOTH'])).stdout, 'cli\n');
    assert.equal((await paddockOk(['exec', sb.name, '--', 'printenv', 'FROM_POLICY'])).stdout, 'policy value\n');
  });
});
