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
   * An admitted call should be answered within this: its wait in line and its own run, judged by
   * how long recent calls of its kind took. A call that would take longer is refused at once, so
   * when the engine slows down (a busy machine) the line shortens instead of the wait growing.
   */
  readonly callBudgetMs: number;
  /**
   * A call let in to wait that still has no slot after this long (or after its budget less a
   * recent call's run, if sooner) is answered busy (nothing ran): the estimate above can be wrong
   * (a slot held by a slow call frees only after slotHoldMs). A sandbox's lone call (it had nothing
   * running or waiting) waits for as long as it takes.
   */
  readonly waitLimitMs: number;
  /**
   * At most this many calls that start a process in a container (LANE_EXEC) run at once; how many
   * do is adapted between 1 and this by how long they take (see ExecConcurrency).
   */
  readonly execAtOnceMax: number;
  /**
   * An exec_command holds its lane from its slot to its end, unless it still runs this long after
   * the engine started it: twice the median run of recent execs that ended in the lane, kept
   * between `min` and `max` (`min` before any has). Then it leaves the lane (keeping its slot), so a
   * long command (a test run) holds the lane only this long. See RunInLane.
   */
  readonly execRunInLaneMs: { readonly min: number; readonly max: number };
}

/**
 * The limits in force, from the idle-machine run on 2 cores (about 93 calls/s at most;
 * exec_command 49 ms, get_logs 4 ms, list_containers 2 ms at p50): at that rate about 2 calls are
 * in flight, so 4 per sandbox and 6 in total keep the engine busy without making each call slower,
 * and 12 waiting drain in about 0.15 s. Processes started in containers are bounded apart: on 2 cores
 * the engine ran 16 `docker exec`s no faster 4 at a time than one at a time (3-6 a second either
 * way) while each took 4 times as long (bench/bridge-load.bench.ts; README "Load"). The budget keeps
 * an admitted call's p99 under a second: the line adds wait, never throughput, once the exec lane is
 * full, so a shorter one answers as many calls sooner. On a quiet machine (2026-12-03, 1200 calls at
 * 50 and 200/s, 1 and 5 clients, alternating runs) a 900 ms budget and 800 ms wait gave exec_command
 * p99 0.95-1.10 s (4 runs of 8 past a second, one at 1.00 s), 650 / 450 ms with the lane held at most 400 ms gave
 * 0.64-0.81 s (none of 8), with the same calls answered (38-136/s) and refused.
 */
export const BRIDGE_LIMITS: AdmissionLimits = {
  runningPerSandbox: 4,
  runningTotal: 6,
  waitingPerSandbox: 12,
  waitingTotal: 48,
  slotHoldMs: 3_000,
  longPerSandbox: 8,
  callBudgetMs: 650,
  waitLimitMs: 450,
  execAtOnceMax: 4,
  execRunInLaneMs: { min: 300, max: 400 },
};

/** The lane of calls that start a process in a container (a `docker exec`): the engine's costly work. */
export const LANE_EXEC = 'exec';
/** The lane of every other call (reads through the engine's API). */
export const LANE_API = 'api';

/** What a caller holds while its call runs; release it once the call has ended (idempotent). */
export interface Slot {
  /**
   * The engine has started the call's process: if it still runs RunInLane's threshold later, it
   * leaves its lane (a long command) and keeps its slot (idempotent; release ends the hold too).
   */
  started(): void;
  release(): void;
}

export type Ticket =
  | { readonly admitted: true; readonly slot: Promise<Slot> }
  | { readonly admitted: false; readonly reason: string; readonly retryAfterMs: number };

interface SandboxLoad {
  running: number;
  waiting: number;
  long: number;
}

interface Waiter {
  readonly sandbox: string;
  readonly lane: Lane;
  readonly grant: (slot: Slot) => void;
}

/** A waiting call got no slot in time: it leaves the line and is answered busy; it never runs. */
export class WaitedTooLong extends Error {
  constructor(readonly reason: string, readonly retryAfterMs: number) {
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
 * How many calls of the exec lane run at once, adapted to how long they take (the idea of TCP
 * Vegas, as in Netflix's concurrency-limits): it starts at two; a call that took more than 1.7
 * times the fastest recent one waited inside the engine behind the others, so one fewer runs at
 * once (at most once per call's length, so one burst is one cut); calls that finish within 1.3
 * times the fastest while the lane is full let one more run. On a 2-core machine that settles at
 * 1-2 execs at once (more only made each slower: the engine's exec path is CPU-bound); on a
 * larger one it rises to the maximum. The fastest time is learnt from calls that had the lane to themselves, and creeps
 * up towards slower ones of those, so a machine that became slower for good is not judged by a
 * time it no longer reaches (a call that shared the lane may be slow because of the others: taken
 * for the norm, the overload would let more run). Before any call had the lane alone, a call that
 * shared it with n counts as 1/n of its time: too fast a guess on an engine with room, which costs a
 * cut to one at once, after which every call has the lane alone. Calls past slotHoldMs are the command's own length, not
 * the engine's, and are not judged. What is timed is a call's
 * hold on the lane, from its slot to its end; an exec_command that left the lane for running long
 * (RunInLane) is not judged either.
 */
export class ExecConcurrency {
  limit: number;
  private fastestMs = 0;
  private cutAt = -Infinity;
  private fastInARow = 0;

  constructor(private readonly max: number) {
    this.limit = Math.min(2, max);
  }

  /**
   * A call held the lane for `ms`, with at most `atOnce` calls in it meanwhile (itself included);
   * `full` says whether the lane ran at its limit (so more could have run).
   */
  learn(ms: number, now: number, full: boolean, atOnce = 1): void {
    if (atOnce <= 1) this.fastestMs = !this.fastestMs || ms < this.fastestMs ? ms : this.fastestMs + (ms - this.fastestMs) * 0.05;
    else if (!this.fastestMs) this.fastestMs = ms / atOnce;
    else this.fastestMs = Math.min(this.fastestMs, ms);
    if (ms > 1.7 * this.fastestMs) {
      this.fastInARow = 0;
      if (now - this.cutAt >= ms && this.limit > 1) {
        this.limit--;
        this.cutAt = now;
      }
    } else if (ms <= 1.3 * this.fastestMs && full && ++this.fastInARow >= this.limit) {
      this.fastInARow = 0;
      this.limit = Math.min(this.max, this.limit + 1);
    }
  }
}

/**
 * How long after its start an exec_command may still hold the exec lane: twice the median of the
 * last 16 runs (start to end) of execs that ended in the lane, between `min` and `max`.
 *
 * "Started" is when the engine has started the process; in a physical view the process first builds
 * the view (a perl prologue in the helper container), CPU the lane exists to bound, so a slow build
 * may leave the lane while it still runs. Timing from the view's ready line instead (tried, 12-02)
 * let a waiting exec wait the build plus the whole threshold, past `max`'s promise below, for no
 * gain beyond the noise in bench:bridge-load at load 8-10. Why hold it past the start at all:
 * bench:bridge-load (2026-12-02, load 8-14 from other work,
 * `echo` in a debian-slim target) timed an admitted exec's parts at p50: prologue in the bridge
 * 0.12-1.4 s, engine create+start 17-255 ms, start to the output's end 0.68-1.96 s, exec inspect
 * 7-171 ms. Released at the start, that last part ran beside the next execs (up to 4-8 at once).
 * Held for the whole call, on a quiet machine (the session before), exec_command p99 was 0.84-1.17 s
 * against 1.32-2.05 s, with more calls answered. Held to the end always, a long command (a test run)
 * would hold the lane for its whole length. Twice a short exec's usual run tells the two apart (the
 * median ignores the few long ones that end inside it); `max` bounds how long a long command delays
 * the others (under waitLimitMs, so a call waiting behind it gets in before it gives up), `min` keeps
 * an idle machine's fast runs from making every slightly slower one "long". A call that leaves this
 * way is not learnt from (its length is the command's, not the engine's).
 */
export class RunInLane {
  private readonly recent: number[] = [];

  constructor(private readonly bounds: { readonly min: number; readonly max: number }) {}

  /** An exec ended `ms` after its start, still in the lane. */
  learn(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > 16) this.recent.shift();
  }

  get thresholdMs(): number {
    if (!this.recent.length) return this.bounds.min;
    const sorted = [...this.recent].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    return Math.min(this.bounds.max, Math.max(this.bounds.min, 2 * median));
  }
}

type Lane = typeof LANE_EXEC | typeof LANE_API;

interface LaneLoad {
  /** Calls holding the lane now. */
  running: number;
  /** The most calls each holder has seen in the lane with it. */
  readonly holders: Set<{ atOnce: number }>;
  /** How long a call holds the lane, on average (recent calls weigh most). */
  averageMs: number;
}

/**
 * Slots and a line of waiting calls. A freed slot goes to a waiting call that may run (its sandbox
 * under its own running limit, its lane under its own), of the sandbox running the fewest calls,
 * then of the one whose last turn is oldest, its oldest call first: so one busy sandbox cannot
 * take every slot, nor every turn, from the others.
 */
export class Admission {
  private readonly loads = new Map<string, SandboxLoad>();
  private readonly queue: Waiter[] = [];
  /** When each sandbox with calls in flight last got a slot (a count of slots given). */
  private readonly lastTurn = new Map<string, number>();
  private turns = 0;
  private running = 0;
  private readonly lanes: Record<Lane, LaneLoad> = { [LANE_EXEC]: { running: 0, averageMs: 0, holders: new Set() }, [LANE_API]: { running: 0, averageMs: 0, holders: new Set() } };
  readonly execConcurrency: ExecConcurrency;
  readonly runInLane: RunInLane;

  constructor(readonly limits: AdmissionLimits = BRIDGE_LIMITS, private readonly clock: AdmissionClock = realClock) {
    this.execConcurrency = new ExecConcurrency(limits.execAtOnceMax);
    this.runInLane = new RunInLane(limits.execRunInLaneMs);
  }

  /**
   * Admits a call (it runs when `slot` resolves) or refuses it at once, saying why. When `cancelled`
   * aborts while the call waits, it leaves the queue and `slot` rejects with CallWithdrawn: a call
   * nobody waits for any more must not run later, nor hold a place in line.
   */
  enter(sandbox: string, cancelled?: AbortSignal, lane: Lane = LANE_API): Ticket {
    const load = this.loadOf(sandbox);
    const { averageMs } = this.lanes[lane];
    const refuse = (reason: string, retryAfterMs = averageMs): Ticket => {
      this.forget(sandbox, load);
      return { admitted: false, reason, retryAfterMs };
    };
    if (load.long >= this.limits.longPerSandbox) {
      return refuse(`${load.long} long calls of this sandbox are still running, at most ${this.limits.longPerSandbox}`, this.limits.slotHoldMs);
    }
    // Every waiter that could use a free slot already has it (grantNext), so those still waiting
    // belong to sandboxes or lanes at their own limit: a free slot is this call's.
    if (this.mayRun(load, lane)) {
      return { admitted: true, slot: Promise.resolve(this.take(sandbox, lane)) };
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
    const expectedWaitMs = idle ? 0 : this.rounds(sandbox, lane) * averageMs;
    if (expectedWaitMs + averageMs > this.limits.callBudgetMs) {
      return refuse(`calls like this take about ${formatMs(averageMs)} now, so this one would be answered in about ${formatMs(expectedWaitMs + averageMs)} behind ${this.queue.length} others, past the ${formatMs(this.limits.callBudgetMs)} budget`, expectedWaitMs);
    }
    load.waiting++;
    const waitLimitMs = Math.min(this.limits.waitLimitMs, this.limits.callBudgetMs - averageMs);
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
      const deadline = idle ? undefined : this.clock.setTimeout(() => leave(new WaitedTooLong(`this call waited ${formatMs(waitLimitMs)} for a slot (${this.limits.runningPerSandbox} per sandbox, ${this.limits.runningTotal} in total, ${this.execConcurrency.limit} running a process in a container now) without getting one`, this.lanes[lane].averageMs)), waitLimitMs);
      const waiter: Waiter = {
        sandbox,
        lane,
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

  /** Each lane's calls running, how long its calls take now, and the exec lane's limit now (for the benchmark). */
  laneSnapshot(): { execLimit: number; lanes: Record<Lane, { running: number; averageMs: number }> } {
    const of = ({ running, averageMs }: LaneLoad) => ({ running, averageMs });
    return { execLimit: this.execConcurrency.limit, lanes: { [LANE_EXEC]: of(this.lanes[LANE_EXEC]), [LANE_API]: of(this.lanes[LANE_API]) } };
  }

  private mayRun(load: SandboxLoad, lane: Lane): boolean {
    return load.running < this.limits.runningPerSandbox && this.running < this.limits.runningTotal
      && (lane !== LANE_EXEC || this.lanes[LANE_EXEC].running < this.execConcurrency.limit);
  }

  /**
   * How many times the slots a call of `lane` needs turn over before it gets one, if it got in line
   * now: the calls of its lane ahead of it (the sandbox's own, and of each other sandbox at most as
   * many plus one, since turns go to the sandbox running the fewest), shared by the slots it may use.
   */
  private rounds(sandbox: string, lane: Lane): number {
    const waitingOf = new Map<string, number>();
    for (const w of this.queue) if (w.lane === lane) waitingOf.set(w.sandbox, (waitingOf.get(w.sandbox) ?? 0) + 1);
    const own = waitingOf.get(sandbox) ?? 0;
    let ahead = own;
    for (const [other, n] of waitingOf) if (other !== sandbox) ahead += Math.min(n, own + 1);
    const slots = Math.min(this.limits.runningTotal, lane === LANE_EXEC ? this.execConcurrency.limit : Infinity);
    const ownWaiting = this.loadOf(sandbox).waiting;
    return Math.max(Math.ceil((ahead + 1) / slots), Math.ceil((ownWaiting + 1) / this.limits.runningPerSandbox));
  }

  private loadOf(sandbox: string): SandboxLoad {
    let load = this.loads.get(sandbox);
    if (!load) {
      load = { running: 0, waiting: 0, long: 0 };
      this.loads.set(sandbox, load);
    }
    return load;
  }

  private take(sandbox: string, lane: Lane): Slot {
    const load = this.loadOf(sandbox);
    const laneLoad = this.lanes[lane];
    this.lastTurn.set(sandbox, ++this.turns);
    load.running++;
    laneLoad.running++;
    this.running++;
    const holder = { atOnce: laneLoad.running };
    for (const other of laneLoad.holders) other.atOnce = Math.max(other.atOnce, laneLoad.running);
    laneLoad.holders.add(holder);
    let state: 'slot' | 'long' | 'done' = 'slot';
    let inLane = true;
    const since = this.clock.now();
    let startedAt: number | undefined;
    let runTimer: unknown;
    /**
     * Ends the hold on the lane. `judged`: the call ended within its lane time, so how long it held
     * the lane tells how busy the engine is (ExecConcurrency); a call that left for running long did not.
     */
    const leaveLane = (judged: boolean) => {
      if (!inLane) return;
      inLane = false;
      if (runTimer !== undefined) this.clock.clearTimeout(runTimer);
      const heldMs = this.clock.now() - since;
      if (judged && lane === LANE_EXEC) {
        const full = laneLoad.running >= this.execConcurrency.limit || this.queue.some((w) => w.lane === LANE_EXEC);
        this.execConcurrency.learn(heldMs, this.clock.now(), full, holder.atOnce);
      }
      laneLoad.holders.delete(holder);
      laneLoad.running--;
      this.learn(laneLoad, heldMs);
    };
    const freeSlot = () => {
      load.running--;
      this.running--;
    };
    const timer = this.clock.setTimeout(() => {
      if (state !== 'slot') return;
      state = 'long';
      leaveLane(false);
      freeSlot();
      load.long++;
      this.grantNext();
    }, this.limits.slotHoldMs);
    return {
      started: () => {
        if (state !== 'slot' || !inLane || startedAt !== undefined) return;
        startedAt = this.clock.now();
        runTimer = this.clock.setTimeout(() => {
          runTimer = undefined;
          if (state !== 'slot' || !inLane) return;
          leaveLane(false);
          this.grantNext();
        }, this.runInLane.thresholdMs);
      },
      release: () => {
        if (state === 'done') return;
        if (state === 'slot') {
          this.clock.clearTimeout(timer);
          if (inLane && startedAt !== undefined && lane === LANE_EXEC) this.runInLane.learn(this.clock.now() - startedAt);
          leaveLane(true);
          freeSlot();
        } else {
          load.long--;
        }
        state = 'done';
        this.forget(sandbox, load);
        this.grantNext();
      },
    };
  }

  /**
   * From 0, a fifth of the way towards each call's time: the first exec of a target also builds its
   * view (a helper container, a second or more), which taken whole would refuse the next calls.
   */
  private learn(lane: LaneLoad, heldMs: number): void {
    lane.averageMs = lane.averageMs * 0.8 + heldMs * 0.2;
  }

  /** Gives free slots to waiting calls that may run: of the sandbox running the fewest, the oldest first. */
  private grantNext(): void {
    while (this.running < this.limits.runningTotal) {
      let best = -1;
      let bestRank: [number, number] = [Infinity, Infinity];
      for (let i = 0; i < this.queue.length; i++) {
        const waiter = this.queue[i];
        const load = this.loadOf(waiter.sandbox);
        if (!this.mayRun(load, waiter.lane)) continue;
        const rank: [number, number] = [load.running, this.lastTurn.get(waiter.sandbox) ?? 0];
        if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) [best, bestRank] = [i, rank];
      }
      if (best < 0) return;
      const [waiter] = this.queue.splice(best, 1);
      this.loadOf(waiter.sandbox).waiting--;
      waiter.grant(this.take(waiter.sandbox, waiter.lane));
    }
  }

  private forget(sandbox: string, load: SandboxLoad): void {
    if (!load.running && !load.waiting && !load.long) {
      this.loads.delete(sandbox);
      this.lastTurn.delete(sandbox);
    }
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** One per process: the total bounds hold over every sandbox this process hosts a bridge for. */
export const sharedAdmission = new Admission();

/** The tool error an agent gets when its call is refused for load: nothing ran; it may retry after about `retryAfterMs`. */
export function busyMessage(reason: string, retryAfterMs: number): string {
  return `Busy: the Paddock bridge is at its limit (${reason}), so this call was not run. Retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s; calls made one after another are never refused for load.`;
}
