// What the init's mounts guard is told to find (PADDOCK_GUARDED, src/engine/guardPlan.ts), from the
// create's mounts; the integration tier renames files over them as the container starts
// (test/integration/hiding/guard-plan.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { settingChanges } from '../../../src/engine/apply.js';
import { GUARDED_ENV, GUARDED_MAX, guardedPlan } from '../../../src/engine/guardPlan.js';

const ws = '/home/u/my app';
const mounts = [
  { Type: 'bind', Source: '/home/u/my app', Target: ws, ReadOnly: false },
  { Type: 'bind', Source: '/dev/null', Target: `${ws}/.env`, ReadOnly: true },
  { Type: 'tmpfs', Target: `${ws}/secrets` },
  { Type: 'bind', Source: `${ws}/.git/config`, Target: `${ws}/.git/config`, ReadOnly: true },
  { Type: 'bind', Source: `${ws}/.git`, Target: `${ws}/.git`, ReadOnly: false }, // a pin: nothing to lose
  { Type: 'bind', Source: '/state/hide-rules/ab', Target: '/run/paddock-hide', ReadOnly: true }, // outside the workspace
  { Type: 'bind', Source: '/dev/null', Target: `${ws}/odd\\name`, ReadOnly: true }, // left to the first look
  { Type: 'bind', Source: '/dev/null', Target: '/home/u/my application/.env', ReadOnly: true }, // another folder with the same start
] as Docker.MountConfig;

describe('the guard plan of a create', () => {
  it('names each hidden file, hidden folder and read-only cage path of the workspace, as mountinfo writes it', () => {
    assert.equal(guardedPlan(ws, mounts),
      '/home/u/my\\040app/.env(file) /home/u/my\\040app/secrets(folder) /home/u/my\\040app/.git/config(read-only)');
  });

  it('leaves what does not fit in one variable to the first look (a longer one fails every process start)', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ Type: 'bind', Source: '/dev/null', Target: `${ws}/config/secrets/key-${i}.pem`, ReadOnly: true })) as Docker.MountConfig;
    const plan = guardedPlan(ws, many);
    assert.ok(plan.length <= GUARDED_MAX && plan.length > GUARDED_MAX - 100, String(plan.length));
    assert.ok(plan.startsWith('/home/u/my\\040app/config/secrets/key-0.pem(file) '));
  });

  it('is empty, not missing, when nothing is protected (an init without it is an older one)', () => {
    assert.equal(guardedPlan(ws, [mounts[0]]), '');
  });

  it('is no setting an apply reports as changed (it follows the mount plan)', () => {
    const settings = (plan: string) => ({ limits: { cpus: 2, memoryBytes: 1024 ** 3, pids: 100 }, ports: [], runtime: 'runc', env: ['PATH=/bin', ...(plan ? [`${GUARDED_ENV}=${plan}`] : [])] }) as any;
    assert.match(settingChanges(settings(''), settings('/w/.env(file)'), 'sb'), /unchanged/);
    assert.match(settingChanges(settings('/w/.env(file)'), settings('/w/.env(file) /w/.npmrc(file)'), 'sb'), /unchanged/);
  });
});
