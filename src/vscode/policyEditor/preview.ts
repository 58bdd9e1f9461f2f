// The live preview of the policy editor: which workspace files each hide rule hides. Pure
// (no `vscode` import): the same scan the sandbox's mount plan is made from.
import { RuleSet, scanWorkspace } from '../../core/hiding.js';
import type { HidePreview, HideRulePreview } from './protocol.js';

const SAMPLES = 20;

export function computeHidePreview(workspace: string, hide: readonly string[], readOnly: readonly string[], version: number): HidePreview {
  const scan = scanWorkspace(workspace, { hide, readOnly });
  const byRule = new Map<number, { count: number; files: number; samples: string[] }>();
  const note = (index: number, path: string, files: number) => {
    const r = byRule.get(index) ?? { count: 0, files: 0, samples: [] };
    r.count++;
    r.files += files;
    if (r.samples.length < SAMPLES) r.samples.push(path);
    byRule.set(index, r);
  };
  // A hidden entry names its rule by pattern; with duplicates the last one decides.
  const lastIndexOf = new Map<string, number>();
  hide.forEach((p, i) => lastIndexOf.set(p, i));
  const filesUnder = new Map<string, number>();
  for (const f of scan.filesInHiddenDirs) {
    for (const h of scan.plan.hidden) {
      if (h.kind === 'dir' && f.startsWith(`${h.relative}/`)) { filesUnder.set(h.relative, (filesUnder.get(h.relative) ?? 0) + 1); break; }
    }
  }
  for (const h of scan.plan.hidden) {
    const index = lastIndexOf.get(h.rule);
    if (index === undefined) continue;
    note(index, h.kind === 'dir' ? `${h.relative}/` : h.relative, h.kind === 'dir' ? filesUnder.get(h.relative) ?? 0 : 1);
  }
  // "!" rules: the visible files they re-include.
  if (hide.some((p) => p.startsWith('!'))) {
    const set = new RuleSet(hide);
    for (const f of scan.visibleFiles) {
      const i = set.decide(f);
      if (i >= 0 && hide[i].startsWith('!')) note(i, f, 1);
    }
  }
  const rules: HideRulePreview[] = hide.map((pattern, index) => {
    const r = byRule.get(index);
    return { pattern, index, count: r?.count ?? 0, files: r?.files ?? 0, samples: r?.samples ?? [] };
  });
  return {
    version, rules,
    hiddenPaths: scan.plan.hidden.length,
    hiddenFiles: scan.plan.hidden.filter((h) => h.kind === 'file').length + scan.filesInHiddenDirs.length,
    scannedFiles: scan.counts.files,
  };
}
