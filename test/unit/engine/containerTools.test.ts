// What "Prune Unused Template Images" removes and what the tree's CPU / memory line says: the pure
// decisions of src/engine/containerTools.ts (the engine calls around them are one request each).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unusedTemplateImages, usageOf, type ImageRecord } from '../../../src/engine/containerTools.js';
import { formatUsage } from '../../../src/vscode/usageText.js';

const T = 'dev.paddock.template';
const image = (id: string, template: string | undefined, created: number, extra: Partial<ImageRecord> = {}): ImageRecord => ({
  id, parentId: '', tags: template ? [`paddock-${template}:${id}`] : [], labels: template ? { [T]: template } : {}, created, size: 100, ...extra,
});

describe('unusedTemplateImages (what prune removes)', () => {
  it('removes old template images no container uses and keeps the newest of each template', () => {
    const images = [image('shell-old', 'shell', 1), image('shell-mid', 'shell', 2), image('shell-new', 'shell', 3), image('claude-only', 'claude', 1)];
    const unused = unusedTemplateImages(images, []);
    assert.deepEqual(unused.map((i) => i.id), ['shell-mid', 'shell-old']);
  });

  it('keeps an image a container uses, stopped or running, however old', () => {
    const images = [image('shell-old', 'shell', 1), image('shell-new', 'shell', 3)];
    assert.deepEqual(unusedTemplateImages(images, ['shell-old']), []);
  });

  it('keeps the base image (and the untagged layers) an image in use was built on', () => {
    const images = [
      image('base-old', 'base', 1), image('layer', undefined, 2, { parentId: 'base-old' }), image('shell-old', 'shell', 3, { parentId: 'layer' }),
      image('base-new', 'base', 10), image('shell-new', 'shell', 11, { parentId: 'base-new' }),
      image('base-older', 'base', 0),
    ];
    assert.deepEqual(unusedTemplateImages(images, ['shell-old']).map((i) => i.id), ['base-older']);
  });

  it('keeps the base of the newest image of a template even when another base is newer', () => {
    const images = [image('base-a', 'base', 1), image('shell-new', 'shell', 5, { parentId: 'base-a' }), image('base-b', 'base', 9)];
    assert.deepEqual(unusedTemplateImages(images, []).map((i) => i.id), []);
  });

  it('never touches images Paddock did not build (no template label), tagged paddock-* or not', () => {
    const images = [image('mine', undefined, 1, { tags: ['paddock-lookalike:1'] }), image('postgres', undefined, 1, { tags: ['postgres:16'] }), image('shell-new', 'shell', 2)];
    assert.deepEqual(unusedTemplateImages(images, []), []);
  });

  it('lists images built on others before them, so the engine does not refuse a parent for its children', () => {
    const images = [image('base-old', 'base', 1), image('shell-old', 'shell', 2, { parentId: 'base-old' }), image('base-new', 'base', 8), image('shell-new', 'shell', 9, { parentId: 'base-new' })];
    assert.deepEqual(unusedTemplateImages(images, []).map((i) => i.id), ['shell-old', 'base-old']);
  });
});

describe('usageOf (the CPU and memory line)', () => {
  const sample = (total: number, system: number, usage: number, extra: Record<string, number> = {}) => ({
    cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: system, online_cpus: 4 },
    memory_stats: { usage, limit: 4 * 1024 ** 3, stats: extra },
  });

  it('has no CPU figure from one sample, and the share of the host times the CPUs online from two', () => {
    assert.equal(usageOf(sample(100, 1000, 0)).cpuPercent, undefined);
    assert.equal(usageOf(sample(350, 2000, 0), sample(100, 1000, 0)).cpuPercent, 100);
  });

  it('leaves the droppable page cache out of memory, as docker stats does (cgroup v2 and v1)', () => {
    assert.equal(usageOf(sample(0, 0, 500 * 1024 ** 2, { inactive_file: 200 * 1024 ** 2 })).memoryBytes, 300 * 1024 ** 2);
    assert.equal(usageOf(sample(0, 0, 500 * 1024 ** 2, { total_inactive_file: 100 * 1024 ** 2 })).memoryBytes, 400 * 1024 ** 2);
  });

  it('reads as the tree shows it', () => {
    assert.equal(formatUsage({ cpuPercent: 3.25, memoryBytes: 312 * 1024 ** 2, memoryLimitBytes: 4 * 1024 ** 3 }), 'CPU 3.3% · 312 MiB / 4 GiB');
    assert.equal(formatUsage({ cpuPercent: 150.4, memoryBytes: 1536, memoryLimitBytes: 0 }), 'CPU 150% · 1.5 KiB');
    assert.equal(formatUsage({ memoryBytes: 0, memoryLimitBytes: 0 }), 'CPU (measuring) · 0 B');
  });
});
