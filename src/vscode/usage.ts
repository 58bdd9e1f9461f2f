// Live CPU and memory of the running sandboxes in the Sandboxes view: sampled every few seconds
// while the view is visible, not at all while it is hidden. Light on purpose (extension.ts loads
// it at activation): the engine half hands over the sampler once it is loaded.
import * as vscode from 'vscode';
import type { Usage } from '../engine/containerTools.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxTreeProvider } from './tree.js';
import type { TreeNode } from './treeModel.js';
import { formatUsage, runningSandboxIds } from './usageText.js';

export type SampleUsage = (containerIds: readonly string[]) => Promise<ReadonlyMap<string, Usage>>;

export class SandboxUsage extends DisposableOwner implements vscode.Disposable {
  private timer?: ReturnType<typeof setTimeout>;
  /** Bumped at each start and stop, so that a sample in flight from an earlier run is dropped. */
  private run = 0;

  constructor(private readonly tree: SandboxTreeProvider, private readonly view: vscode.TreeView<TreeNode>, private readonly sampler: Promise<SampleUsage>,
    private readonly log: vscode.LogOutputChannel, private readonly intervalMs = 3000) {
    super();
    this.register(view.onDidChangeVisibility(() => this.follow()));
    this.register({ dispose: () => this.halt() });
    this.follow();
  }

  private follow(): void {
    this.halt();
    if (this.isDisposed || !this.view.visible) {
      this.log.trace('CPU/memory sampling off (the Sandboxes view is hidden)');
      return;
    }
    this.log.trace('CPU/memory sampling on (the Sandboxes view is visible)');
    void this.tick(this.run);
  }

  private halt(): void {
    this.run++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async tick(run: number): Promise<void> {
    const ids = runningSandboxIds(this.tree.getChildren());
    if (ids.length) {
      const usage = await (await this.sampler)(ids).catch(() => new Map<string, Usage>());
      if (run !== this.run) return;
      this.tree.setUsage(new Map([...usage].map(([id, u]) => [id, formatUsage(u)])));
    }
    if (run === this.run) this.timer = setTimeout(() => void this.tick(run), this.intervalMs);
  }
}
