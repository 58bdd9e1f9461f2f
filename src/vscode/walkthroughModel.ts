// Which steps of the "Get started with Paddock" walkthrough (package.json contributes.walkthroughs)
// are already done, from what the extension knows. Pure (no `vscode` import), for the unit tests.

export const WALKTHROUGH = 'paddock.gettingStarted';

/** The steps whose completion the extension can see; "verify" is ticked by its command (package.json). */
export type KnownStep = 'engine' | 'run' | 'policy';

export interface WalkthroughFacts {
  /** A Docker engine answers. */
  readonly engineReady: boolean;
  /** A sandbox exists for one of this window's folders. */
  readonly sandboxInWindow: boolean;
  /** One of this window's folders has .paddock/policy.yaml. */
  readonly policyFile: boolean;
}

/** VS Code's id of the walkthrough: the extension's id, '#', the walkthrough's id. */
export function walkthroughId(extensionId: string): string {
  return `${extensionId}#${WALKTHROUGH}`;
}

/** VS Code's id of one step, as its welcome.markStepComplete command takes it. */
export function stepId(extensionId: string, step: string): string {
  return `${walkthroughId(extensionId)}#${step}`;
}

export function stepsDone(facts: WalkthroughFacts): KnownStep[] {
  const done: KnownStep[] = [];
  if (facts.engineReady) done.push('engine');
  if (facts.sandboxInWindow) done.push('run');
  if (facts.policyFile) done.push('policy');
  return done;
}

/**
 * The steps to tick now: done and not ticked yet in this window. A step is ticked once: undoing
 * one (the engine stopped) is not news the walkthrough should report, and the user can untick.
 */
export class StepTicks {
  private readonly ticked = new Set<KnownStep>();

  due(facts: WalkthroughFacts): KnownStep[] {
    const due = stepsDone(facts).filter((s) => !this.ticked.has(s));
    for (const s of due) this.ticked.add(s);
    return due;
  }
}
