// Which Paddock base image the engine's shared parts run in (paddockBaseImage in src/engine/egress.ts):
// never one a sandbox was made with --base-image or --ca-cert, whose CAs the shared egress service
// would then trust for every sandbox's upstream TLS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { paddockBaseImage } from '../../../src/engine/egress.js';

type Image = { RepoTags: string[]; Created: number; Labels?: Record<string, string> };
const engineWith = (images: Image[]) => ({ listImages: async () => images }) as unknown as Docker;
const base = (tag: string, created: number, origin?: 'default' | 'custom'): Image =>
  ({ RepoTags: [tag], Created: created, Labels: { 'dev.paddock.template': 'base', ...(origin ? { 'dev.paddock.base-origin': origin } : {}) } });

describe('paddockBaseImage', () => {
  it('takes the newest default base image, not a newer custom one', async () => {
    assert.equal(await paddockBaseImage(engineWith([base('paddock-base:old', 1, 'default'), base('paddock-base:corp', 3, 'custom'), base('paddock-base:new', 2, 'default')])), 'paddock-base:new');
  });
  it('takes an image from before the label only when no labelled default exists, and never a custom one', async () => {
    assert.equal(await paddockBaseImage(engineWith([base('paddock-base:corp', 3, 'custom'), base('paddock-base:unlabelled', 1)])), 'paddock-base:unlabelled');
    assert.equal(await paddockBaseImage(engineWith([base('paddock-base:corp', 3, 'custom')])), undefined);
  });
  it('skips untagged images', async () => {
    assert.equal(await paddockBaseImage(engineWith([{ ...base('x', 5, 'default'), RepoTags: ['<none>:<none>'] }, base('paddock-base:a', 1, 'default')])), 'paddock-base:a');
  });
});
