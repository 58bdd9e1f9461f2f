// Admission of bridge calls: a bounded number run at once, a bounded number wait, and the rest are
// refused at once with "busy, retry in a moment". Without a bound, an agent (or several) calling
// faster than the engine answers queued thousands of calls, each waiting up to a minute (issue 16).

/** The bounds, per sandbox and over all sandboxes one process hosts (VS Code hosts several). */
export interface AdmissionLimits {
  /** Calls of one sandbox that run at once; more wait. */
  readonly runningPerSandbox: number;
  /** Calls of all sandboxes that run at once: what the engine on a small machine answers without slowing down. */
  readonly runningTotal: number;
  /** Calls of one sandbox that wait for a slot; past this, "busy" at once. */
  readonly waitingPerSandbox: number;
  /** Calls of all sandboxes that wait; past this, "busy" at once. */
  readonly waitingTotal: number;
  /**
   * A call still running after this long (an `npm test`) gives its slot to a waiting call: its work
   * is in the target container by then, and the short calls behind it should not wait for it.
   */
  readonly slotHoldMs: number;
  /** Such long calls of one sandbox at once; past this, "busy" at once. */
  readonly longPerSandbox: number;
  /**
   * A call that would wait longer than this, judged by how long recent calls took, is refused at
   * once: when the engine slows down (a busy machine), the queue shortens instead of the wait growing.
   */
  readonly waitBudgetMs: number;
  /**
   * A call let in to wait that still has no slot after this long is answered busy (nothing ran):
   * the estimate above can be wrong (a slot held by a slow call frees only after slotHoldMs). A
   * sandbox's lone call (it had nothing running or waiting) waits for as long as it takes.
   */
  readonly waitLimitMs: number;
}

/**
 * The limits in force, from the idle-machine run on 2 cores (about 93 calls/s at most;
 * exec_command 49 ms, get_logs 4 ms, list_containers 2 ms at p50): at that rate about 2 calls are
 * in flight, so 4 per sandbox and 6 in total keep the engine busy without making each call slower,
 * and 12 waiting drain in about 0.15 s. The wait budget holds the p99 under a second when the engine
 * is slower than that (bench/bridge-load.bench.ts measures it; README "Load").
 */
export const BRIDGE_LIMITS: AdmissionLimits = {
  runningPerSandbox: 4,
  runningTotal: 6,
  waitingPerSandbox: 12,
  waitingTotal: 48,
  slotHoldMs: 3_000,
  longPerSandbox: 8,
  waitBudgetMs: 500,
  waitLimitMs: 800,
};

/** What a caller holds while its call runs; release it once the call has ended (idempotent). */
export interface Slot {
  release(): void;
}

export type Ticket =
  | { readonly admitted: true; readonly slot: Promise<Slot> }
  | { readonly admitted: false; readonly reason: string };

interface SandboxLoad {
  running: number;
  waiting: number;
  long: number;
}

interface Waiter {
  readonly sandbox: string;
  readonly grant: (slot: Slot) => void;
}

/** A waiting call got no slot within waitLimitMs: it leaves the line and is answered busy; it never runs. */
export class WaitedTooLong extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A waiting call was cancelled (by its client, or because its client went away) before it got a slot: it never runs. */
export class CallWithdrawn extends Error {
  constructor() {
    super('The call was cancelled before it ran.');
  }
}

export interface AdmissionClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: AdmissionClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Slots and a FIFO of waiting calls. A freed slot goes to the oldest waiting call whose sandbox is
 * under its own running limit, so one busy sandbox cannot take every slot from the others.
 */
export class Admission {
  private readonly loads = new Map<string, SandboxLoad>();
  private readonly queue: Waiter[] = [];
  private running = 0;
  /** How long a call holds its slot, on average (recent calls weigh most); 0 until one has ended. */
  private averageMs = 0;

  constructor(readonly limits: AdmissionLimits = BRIDGE_LIMITS, private readonly clock: AdmissionClock = realClock) {}

  /**
   * Admits a call (it runs when `slot` resolves) or refuses it at once, saying why. When `cancelled`
   * aborts while the call waits, it leaves the queue and `slot` rejects with CallWithdrawn: a call
   * nobody waits for any more must not run later, nor hold a place in line.
   */
  enter(sandbox: string, cancelled?: AbortSignal): Ticket {
    const load = this.loadOf(sandbox);
    const refuse = (reason: string): Ticket => {
      this.forget(sandbox, load);
      return { admitted: false, reason };
    };
    if (load.long >= this.limits.longPerSandbox) {
      return refuse(`${load.long} long calls of this sandbox are still running, at most ${this.limits.longPerSandbox}`);
    }
    // Every waiter that could use a free slot already has it (grantNext), so those still waiting
    // belong to sandboxes at their own limit: a free slot is this call's.
    if (load.running < this.limits.runningPerSandbox && this.running < this.limits.runningTotal) {
      return { admitted: true, slot: Promise.resolve(this.take(sandbox)) };
    }
    if (load.waiting >= this.limits.waitingPerSandbox) {
      return refuse(`${load.running} calls of this sandbox are running and ${load.waiting} are waiting, at most ${this.limits.waitingPerSandbox}`);
    }
    // A sandbox with nothing running or waiting always gets in line: neither other sandboxes' load nor
    // a slow engine refuses an agent that calls one at a time (the total queue is then at most one
    // per sandbox longer).
    const idle = load.running === 0 && load.waiting === 0;
    if (!idle && this.queue.length >= this.limits.waitingTotal) {
      return refuse(`${this.queue.length} calls of all sandboxes are waiting, at most ${this.limits.waitingTotal}`);
    }
    const rounds = idle ? 0 : Math.max(Math.ceil((load.waiting + 1) / this.limits.runningPerSandbox), Math.ceil((this.queue.length + 1) / this.limits.runningTotal));
    const expectedWaitMs = rounds * this.averageMs;
    if (expectedWaitMs > this.limits.waitBudgetMs) {
      return refuse(`calls take about ${formatMs(this.averageMs)} now, so this one would wait about ${formatMs(expectedWaitMs)} behind ${this.queue.length} others, at most ${formatMs(this.limits.waitBudgetMs)}`);
    }
    load.waiting++;
    const slot = new Promise<Slot>((resolve, reject) => {
      const leave = (why: Error) => {
        const at = this.queue.indexOf(waiter);
        if (at < 0) return;
        this.queue.splice(at, 1);
        load.waiting--;
        this.forget(sandbox, load);
        if (deadline !== undefined) this.clock.clearTimeout(deadline);
        cancelled?.removeEventListener('abort', withdraw);
        reject(why);
      };
      const withdraw = () => leave(new CallWithdrawn());
      const deadline = idle ? undefined : this.clock.setTimeout(() => leave(new WaitedTooLong(`this call waited ${formatMs(this.limits.waitLimitMs)} for one of ${this.limits.runningPerSandbox} slots of this sandbox (${this.limits.runningTotal} in total) without getting one`)), this.limits.waitLimitMs);
      const waiter: Waiter = {
        sandbox,
        grant: (slot) => {
          cancelled?.removeEventListener('abort', withdraw);
          if (deadline !== undefined) this.clock.clearTimeout(deadline);
          resolve(slot);
        },
      };
      this.queue.push(waiter);
      cancelled?.addEventListener('abort', withdraw, { once: true });
      if (cancelled?.aborted) withdraw();
    });
    // The caller may not be awaiting yet when the call is withdrawn (it masks the arguments first).
    slot.catch(() => {});
    return { admitted: true, slot };
  }

  /** Calls running and waiting now, in total and per sandbox (for tests and the benchmark). */
  snapshot(): { running: number; waiting: number; sandboxes: Record<string, Readonly<SandboxLoad>> } {
    return { running: this.running, waiting: this.queue.length, sandboxes: Object.fromEntries([...this.loads].map(([k, v]) => [k, { ...v }])) };
  }

  private loadOf(sandbox: string): SandboxLoad {
    let load = this.loads.get(sandbox);
    if (!load) {
      load = { running: 0, waiting: 0, long: 0 };
      this.loads.set(sandbox, load);
    }
    return load;
  }

  private take(sandbox: string): Slot {
    const load = this.loadOf(sandbox);
    load.running++;
    this.running++;
    let state: 'slot' | 'long' | 'done' = 'slot';
    const since = this.clock.now();
    const freeSlot = () => {
      load.running--;
      this.running--;
    };
    const timer = this.clock.setTimeout(() => {
      if (state !== 'slot') return;
      state = 'long';
      freeSlot();
      this.learn(this.limits.slotHoldMs);
      load.long++;
      this.grantNext();
    }, this.limits.slotHoldMs);
    return {
      release: () => {
        if (state === 'done') return;
        if (state === 'slot') {
          this.clock.clearTimeout(timer);
          freeSlot();
          this.learn(this.clock.now() - since);
        } else {
          load.long--;
        }
        state = 'done';
        this.forget(sandbox, load);
        this.grantNext();
      },
    };
  }

  private learn(heldMs: number): void {
    this.averageMs = this.averageMs ? this.averageMs * 0.8 + heldMs * 0.2 : heldMs;
  }

  /** Gives free slots to the oldest waiting calls that may run. */
  private grantNext(): void {
    for (let i = 0; i < this.queue.length && this.running < this.limits.runningTotal;) {
      const waiter = this.queue[i];
      const load = this.loadOf(waiter.sandbox);
      if (load.running >= this.limits.runningPerSandbox) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      load.waiting--;
      waiter.grant(this.take(waiter.sandbox));
    }
  }

  private forget(sandbox: string, load: SandboxLoad): void {
    if (!load.running && !load.waiting && !load.long) this.loads.delete(sandbox);
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** One per process: the total bounds hold over every sandbox this process hosts a bridge for. */
export const sharedAdmission = new Admission();

/** The tool error an agent gets when its call is refused for load: nothing ran; it may retry. */
export function busyMessage(reason: string): string {
  return `Busy: the Paddock bridge is at its limit (${reason}), so this call was not run. Retry in a moment; calls made one after another are never refused for load.`;
}
