// Which older template images a build removes (src/engine/imagePrune.ts): the choice alone, on
// images as the engine lists them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABELS } from '../../../src/core/naming.js';
import { familyKeepers, KEEP_RECENT_MS, prunable, type ListedImage } from '../../../src/engine/imagePrune.js';

const NOW = Date.parse('2026-12-02T00:00:00Z');
const OLD = (NOW - 2 * KEEP_RECENT_MS) / 1000;
let n = 0;
function image(labels: Record<string, string>, tags: string[] = [`paddock-x:${(++n).toString(16).padStart(12, '0')}`], created = OLD): ListedImage {
  return { Id: `sha256:${(++n).toString(16).padStart(64, '0')}`, RepoTags: tags, Labels: { [LABELS.createdBy]: 'paddock', ...labels }, Created: created };
}
const base = (origin?: string, tags?: string[], created?: number) => image({ [LABELS.template]: 'base', ...(origin ? { [LABELS.baseOrigin]: origin } : {}) }, tags, created);
const none = { used: new Set<string>(), named: new Set<string>(), now: NOW };
const removedIds = (r: ReturnType<typeof prunable>) => r.remove.map((x) => x.id);

describe('older template images', () => {
  it('a build on a custom base never removes a default one (the engine\'s shared parts run in it), nor one from before the origin label', () => {
    const [defaultOld, customOld, legacy, customNew] = [base('default'), base('custom'), base(), base('custom')];
    assert.deepEqual(removedIds(prunable([defaultOld, customOld, legacy, customNew], { template: 'base', origin: 'custom' }, customNew.Id, none)), [customOld.Id]);
    assert.deepEqual(removedIds(prunable([defaultOld, customOld, legacy, customNew], { template: 'base', origin: 'default' }, customNew.Id, none)), [defaultOld.Id]);
  });

  it('a workspace\'s own template removes only that workspace\'s images', () => {
    const mine = image({ [LABELS.template]: 'workspace', [LABELS.workspace]: '/w/a' });
    const theirs = image({ [LABELS.template]: 'workspace', [LABELS.workspace]: '/w/b' });
    const unlabelled = image({ [LABELS.template]: 'workspace' });
    assert.deepEqual(removedIds(prunable([mine, theirs, unlabelled], { template: 'workspace', workspace: '/w/a' }, 'sha256:current', none)), [mine.Id]);
  });

  it('keeps what a container uses, what the user named or tagged, and what was built within the last day; never the current one', () => {
    const [used, named, tagged, recent, old, current] = [
      image({ [LABELS.template]: 'shell' }), image({ [LABELS.template]: 'shell' }), image({ [LABELS.template]: 'shell' }, ['paddock-shell:0123456789ab', 'mine:latest']),
      image({ [LABELS.template]: 'shell' }, undefined, (NOW - KEEP_RECENT_MS + 60_000) / 1000), image({ [LABELS.template]: 'shell' }, []), image({ [LABELS.template]: 'shell' })];
    const r = prunable([used, named, tagged, recent, old, current], { template: 'shell' }, current.Id, { used: new Set([used.Id]), named: new Set([named.Id]), now: NOW });
    assert.deepEqual({ remove: removedIds(r), inUse: r.inUse, named: r.named, recent: r.recent }, { remove: [old.Id], inUse: 1, named: 2, recent: 1 });
  });

  it('all at once, each family keeps its newest tagged image: an untagged one left by a --rebuild never takes its place', () => {
    const tagged = base('default', undefined, OLD);
    const untaggedNewer = base('default', ['<none>:<none>'], OLD + 100);
    const custom = base('custom', undefined, OLD + 200);
    const keepers = familyKeepers([tagged, untaggedNewer, custom]);
    assert.deepEqual(keepers.map((k) => [k.family.origin, k.id]), [['default', tagged.Id], ['custom', custom.Id]]);
  });
});
