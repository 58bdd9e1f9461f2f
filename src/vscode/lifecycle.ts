// The UI's long-lived objects own what they subscribe to and create. Pure (no `vscode` import):
// vscode.Disposable fits DisposableLike, and the unit tests use fakes.

/** Anything with a dispose(): vscode's disposables, and closers for timers and followers. */
export interface DisposableLike {
  dispose(): unknown;
}

/**
 * A base for classes that own disposables: what they `register()` is disposed with them, once,
 * in the order registered. What is registered after dispose() (say by a start that finishes late)
 * is disposed at once instead of leaking, as vscode-pull-request-github's lifecycle does.
 */
export abstract class DisposableOwner implements DisposableLike {
  private owned: DisposableLike[] = [];
  private disposed = false;

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  /** Takes ownership of `disposable` and returns it (so a field can be created and registered in one line). */
  protected register<T extends DisposableLike>(disposable: T): T {
    if (this.disposed) disposable.dispose();
    else this.owned.push(disposable);
    return disposable;
  }

  /** Disposes all it owns, also when one of them throws; then throws what they threw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const owned = this.owned;
    this.owned = [];
    const errors: unknown[] = [];
    for (const d of owned) {
      try {
        d.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `${errors.length} disposables failed to dispose`);
  }
}
