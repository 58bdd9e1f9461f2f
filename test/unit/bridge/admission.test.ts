// Admission of bridge calls (src/bridge/admission.ts): a bounded number run and wait, per sandbox
// and in total; the rest are refused at once, and a flood from one sandbox cannot starve another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission, BRIDGE_LIMITS, busyMessage, CallWithdrawn, ExecConcurrency, LANE_API, LANE_EXEC, RunInLane, WaitedTooLong, type AdmissionClock, type AdmissionLimits, type Slot, type Ticket } from '../../../src/bridge/admission.js';

/** A clock the test moves by hand: timers fire only when advanced past them. */
class ManualClock implements AdmissionClock {
  at = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number { return this.at; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.at + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void { this.timers = this.timers.filter((t) => t.id !== handle); }
  advance(ms: number): void {
    this.at += ms;
    for (const t of this.timers.filter((x) => x.at <= this.at)) {
      this.timers = this.timers.filter((x) => x !== t);
      t.fn();
    }
  }
}

const LIMITS: AdmissionLimits = { runningPerSandbox: 2, runningTotal: 3, waitingPerSandbox: 2, waitingTotal: 3, slotHoldMs: 1000, longPerSandbox: 3, callBudgetMs: 1000, waitLimitMs: 10_000, execAtOnceMax: 4, execRunInLaneMs: { min: 300, max: 600 } };

function setup(limits: Partial<AdmissionLimits> = {}) {
  const clock = new ManualClock();
  const admission = new Admission({ ...LIMITS, ...limits }, clock);
  const granted = new Map<Ticket, Slot>();
  const enter = (sandbox: string, lane: typeof LANE_EXEC | typeof LANE_API = LANE_API): Ticket => {
    const ticket = admission.enter(sandbox, undefined, lane);
    if (ticket.admitted) void ticket.slot.then((slot) => granted.set(ticket, slot), () => {});
    return ticket;
  };
  return { clock, admission, granted, enter };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('bridge admission', () => {
  it('runs up to the per-sandbox limit, queues up to its bound, and refuses the next at once', async () => {
    const { admission, granted, enter } = setup();
    const tickets = Array.from({ length: 5 }, () => enter('a'));
    await settle();
    assert.deepEqual(tickets.map((t) => t.admitted), [true, true, true, true, false]);
    assert.equal(granted.size, 2, 'two run, two wait');
    const refused = tickets[4];
    assert.ok(!refused.admitted && /2 calls of this sandbox are running and 2 are waiting, at most 2/.test(refused.reason));
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 2, long: 0 });
  });

  it('a released slot goes to the oldest waiting call, and a refused sandbox gets in again once it drains', async () => {
    const { admission, granted, enter } = setup();
    const [first, , third, fourth] = Array.from({ length: 4 }, () => enter('a'));
    await settle();
    granted.get(first)!.release();
    granted.get(first)!.release(); // twice: still one slot freed
    await settle();
    assert.ok(granted.has(third) && !granted.has(fourth), 'FIFO, one slot for one release');
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 1, long: 0 });
    for (const slot of [...granted.values()]) slot.release();
    await settle();
    for (const slot of [...granted.values()]) slot.release();
    assert.deepEqual(admission.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing left behind');
    assert.ok(enter('a').admitted);
  });

  it('a flooding sandbox leaves slots for another one, and the total bounds hold over all sandboxes', async () => {
    const { admission, granted, enter } = setup();
    const flood = Array.from({ length: 10 }, () => enter('flood'));
    const quiet = enter('quiet');
    await settle();
    assert.equal(flood.filter((t) => t.admitted).length, 4, 'the flood: 2 run, 2 wait, 6 refused');
    assert.ok(quiet.admitted && granted.has(quiet), 'the quiet sandbox runs at once (total 3 running, flood at most 2)');
    // The total running bound: a third sandbox waits, a fourth in line makes the total queue full.
    const third = enter('third');
    await settle();
    assert.ok(third.admitted && !granted.has(third));
    const busyThird = enter('third');
    assert.ok(!busyThird.admitted && /3 calls of all sandboxes are waiting, at most 3/.test(busyThird.reason));
    // ...but a sandbox with nothing in flight is never refused for the others' load.
    const idle = enter('idle');
    assert.ok(idle.admitted);
    assert.equal(admission.snapshot().waiting, 4);
    // The quiet sandbox's slot: the flood's waiters are first in line but at their own running limit.
    granted.get(quiet)!.release();
    await settle();
    assert.ok(granted.has(third), 'the flood is at its own running limit, so the slot goes to the next sandbox in line');
  });

  it('a call running past slotHoldMs gives its slot to a waiting call; long calls per sandbox are bounded', async () => {
    const { clock, admission, granted, enter } = setup();
    const [a, b, c] = [enter('a'), enter('a'), enter('a')];
    await settle();
    assert.ok(!granted.has(c));
    clock.advance(1000);
    await settle();
    assert.ok(granted.has(c), 'two long calls freed their slots');
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 1, waiting: 0, long: 2 });
    clock.advance(1000);
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 0, waiting: 0, long: 3 });
    const refused = enter('a');
    assert.ok(!refused.admitted && /3 long calls of this sandbox are still running, at most 3/.test(refused.reason));
    granted.get(a)!.release();
    assert.ok(enter('a').admitted, 'one long call ended');
    for (const t of [b, c]) granted.get(t)!.release();
  });

  it('when calls slow down, a call that would be answered past the budget is refused, saying when to retry; a lone caller still gets in', async () => {
    const { clock, granted, enter } = setup({ waitingPerSandbox: 10, waitingTotal: 10 });
    // Twenty calls of 600 ms: the average is near 600 ms by then.
    for (let i = 0; i < 10; i++) {
      const [a, b] = [enter('a'), enter('a')];
      await settle();
      clock.advance(600);
      granted.get(a)!.release();
      granted.get(b)!.release();
    }
    // Calls take 600 ms: waiting one round and running makes 1.2 s, past the 1 s budget.
    const [c, d, e] = [enter('a'), enter('a'), enter('a')];
    await settle();
    assert.ok(c.admitted && d.admitted && granted.has(c) && granted.has(d), 'free slots are taken whatever the speed');
    assert.ok(!e.admitted && /calls like this take about 59\d ms now, so this one would be answered in about 1.2 s behind 0 others, past the 1.0 s budget/.test(e.reason), JSON.stringify(e));
    assert.match(busyMessage(e.reason, e.retryAfterMs), /Retry in 1 s;/);
    assert.ok(enter('lone').admitted, 'a sandbox with nothing in flight is not refused for speed');
  });

  it('a call let in to wait that gets no slot within waitLimitMs leaves the line, busy; a lone caller waits on', async () => {
    // The estimate lets calls wait (recent calls were fast); then the running ones stall.
    const { clock, admission, granted, enter } = setup({ runningTotal: 2, waitLimitMs: 800, slotHoldMs: 60_000 });
    const running = [enter('a'), enter('a')];
    const waiting = enter('a');
    const lone = enter('b');
    await settle();
    assert.ok(waiting.admitted && lone.admitted && !granted.has(waiting) && !granted.has(lone), 'both wait: every slot is taken');
    const outcome = waiting.admitted ? waiting.slot.then(() => 'granted', (err: Error) => err) : undefined;
    clock.advance(799);
    await settle();
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 1, long: 0 }, 'still in line before the limit');
    clock.advance(1);
    const err = await outcome;
    assert.ok(err instanceof WaitedTooLong && /waited 800 ms for a slot \(2 per sandbox, 2 in total/.test(err.message), String(err));
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 0, long: 0 }, 'it left the line');
    clock.advance(10_000);
    granted.get(running[0])!.release();
    await settle();
    assert.ok(granted.has(lone), 'the lone call of another sandbox waited on and got the freed slot');
  });

  it('a waiting call whose client cancels leaves the queue, is never granted a slot, and frees its place in line', async () => {
    const { admission, granted } = setup();
    const running = [admission.enter('a'), admission.enter('a')];
    for (const t of running) if (t.admitted) void t.slot.then((slot) => granted.set(t, slot));
    const cancel = new AbortController();
    const cancelled = admission.enter('a', cancel.signal);
    const kept = admission.enter('a');
    assert.ok(cancelled.admitted && kept.admitted);
    let outcome: unknown;
    cancelled.slot.then(() => { outcome = 'granted'; }, (err) => { outcome = err; });
    void kept.slot.then((slot) => granted.set(kept, slot));
    await settle();
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 2, long: 0 });
    cancel.abort();
    await settle();
    assert.ok(outcome instanceof CallWithdrawn, `the cancelled call was withdrawn: ${String(outcome)}`);
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 2, waiting: 1, long: 0 });
    assert.ok(admission.enter('a').admitted, 'its place in line is free again');
    // The next freed slot goes to the call behind it, never to the cancelled one.
    granted.get(running[0])!.release();
    await settle();
    assert.ok(granted.has(kept));
    assert.ok(outcome instanceof CallWithdrawn);
  });

  it('a call that would wait and is already cancelled is withdrawn at once (one given a free slot is stopped by its caller)', async () => {
    const { admission } = setup({ runningPerSandbox: 1 });
    const first = admission.enter('a', AbortSignal.abort());
    assert.ok(first.admitted);
    const slot = await first.slot;
    const waiting = admission.enter('a', AbortSignal.abort());
    assert.ok(waiting.admitted);
    await assert.rejects(waiting.slot, CallWithdrawn);
    slot.release();
    assert.deepEqual(admission.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing left behind');
  });

  it('calls that start a process in a container run at most the exec limit at once; other calls still take the free slots', async () => {
    const { clock, admission, granted, enter } = setup({ runningPerSandbox: 4, runningTotal: 4, waitingPerSandbox: 4 });
    assert.equal(admission.execConcurrency.limit, 2, 'two at once to begin with');
    const early = [enter('a', LANE_EXEC), enter('a', LANE_EXEC)];
    await settle();
    // Once the engine started their processes and they run on (long commands, say), they leave the lane and keep their slots.
    for (const t of early) granted.get(t)!.started();
    assert.equal(admission.laneSnapshot().lanes[LANE_EXEC].running, 2, 'a started exec holds the lane for a while');
    clock.advance(300);
    assert.equal(admission.laneSnapshot().lanes[LANE_EXEC].running, 0);
    assert.equal(admission.snapshot().running, 2);
    granted.get(early[0])!.release();
    admission.execConcurrency.limit = 1;
    const execs = [enter('a', LANE_EXEC), enter('a', LANE_EXEC)];
    const logs = enter('a');
    await settle();
    assert.ok(execs.every((t) => t.admitted));
    assert.deepEqual(execs.map((t) => granted.has(t)), [true, false], 'the second exec waits');
    assert.ok(granted.has(logs), 'a cheap call runs beside it');
    granted.get(execs[0])!.started();
    await settle();
    assert.ok(!granted.has(execs[1]), 'a just started exec still holds the lane');
    clock.advance(300);
    await settle();
    assert.ok(granted.has(execs[1]), 'one still running 300 ms after its start lets the next one run');
    for (const t of [early[1], ...execs, logs]) granted.get(t)!.release();
    assert.deepEqual(admission.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing left behind');
  });

  it('the exec limit falls when execs slow down as more run at once, and rises when they stay fast with the lane full', () => {
    const limit = new ExecConcurrency(4);
    let now = 0;
    const ran = (ms: number, full = true) => { now += ms; limit.learn(ms, now, full); };
    ran(200);
    ran(200);
    assert.equal(limit.limit, 3, 'as many fast calls in a row, with the lane full, as run at once: one more');
    ran(200, false);
    ran(200, false);
    ran(200, false);
    assert.equal(limit.limit, 3, 'never raised while the lane was not full');
    ran(700);
    assert.equal(limit.limit, 2, 'more than 1.7 times the fastest: one fewer at once');
    ran(700);
    assert.equal(limit.limit, 1, 'a call later, still slow: one fewer again');
    ran(700);
    assert.equal(limit.limit, 1, 'never fewer than one');
    // A burst ending together is one cut, not one per call.
    const burst = new ExecConcurrency(4);
    for (const at of [1000, 1100]) burst.learn(100, at, true);
    assert.equal(burst.limit, 3);
    for (const at of [1500, 1510, 1520]) burst.learn(400, at, true);
    assert.equal(burst.limit, 2, 'three slow calls ending within one call\'s length: one cut');
  });

  it('on an engine that runs execs one after another the exec limit stays at 1-2, also when the machine becomes slower for good; on one that runs them side by side it rises to the maximum', () => {
    /** Sends `count` calls through `limit`, each taking what `engine` says for the limit in force; returns the highest limit seen. */
    const drive = (limit: ExecConcurrency, count: number, engine: (atOnce: number) => number, from = 0) => {
      let now = from;
      let highest = limit.limit;
      for (let i = 0; i < count; i++) {
        const ms = engine(limit.limit);
        now += ms / limit.limit;
        limit.learn(ms, now, true, limit.limit);
        highest = Math.max(highest, limit.limit);
      }
      return { highest, now };
    };
    // A 2-core engine: n execs at once each take n times as long (no more done per second).
    const serial = new ExecConcurrency(4);
    const fast = drive(serial, 200, (n) => 100 * n);
    assert.ok(fast.highest <= 2 && serial.limit <= 2, `stays at 1-2: highest ${fast.highest}`);
    // The machine becomes 4 times slower for good: the slower time becomes the norm, and still no more than 2 at once.
    const slow = drive(serial, 400, (n) => 400 * n, fast.now);
    assert.ok(slow.highest <= 2, `highest ${slow.highest}`);
    assert.equal(drive(serial, 50, (n) => 400 * n, slow.now).highest, 2, 'it still tries two at once now and then');
    // An engine with room: execs take as long however many run.
    const parallel = new ExecConcurrency(4);
    drive(parallel, 100, () => 100);
    assert.equal(parallel.limit, 4);
  });

  it('a waiting exec of a quiet sandbox gets the next exec slot before an older one of a flooding sandbox', async () => {
    const { granted, enter } = setup({ runningPerSandbox: 4, runningTotal: 4, waitingPerSandbox: 6, waitingTotal: 10, execAtOnceMax: 1 });
    const flood = Array.from({ length: 5 }, () => enter('flood', LANE_EXEC));
    const quiet = [enter('quiet', LANE_EXEC), enter('quiet', LANE_EXEC)];
    await settle();
    assert.deepEqual(flood.map((t) => granted.has(t)), [true, false, false, false, false]);
    assert.ok(quiet.every((t) => t.admitted && !granted.has(t)), 'the quiet sandbox waits: the exec lane is full');
    granted.get(flood[0])!.release();
    await settle();
    assert.ok(granted.has(quiet[0]) && !granted.has(flood[1]), 'neither runs one now: the quiet sandbox (its last turn is older) goes first');
    granted.get(quiet[0])!.release();
    await settle();
    assert.ok(granted.has(flood[1]) && !granted.has(quiet[1]), 'then the flood, its oldest first');
    granted.get(flood[1])!.release();
    await settle();
    assert.ok(granted.has(quiet[1]) && !granted.has(flood[2]), 'turn by turn');
  });

  it('execs are judged by how long execs take: slow execs are refused while cheap calls are still let in to wait', async () => {
    const { clock, admission, granted, enter } = setup({ runningPerSandbox: 2, runningTotal: 2, waitingPerSandbox: 6, waitingTotal: 10, execAtOnceMax: 1 });
    for (let i = 0; i < 20; i++) {
      const x = enter('a', LANE_EXEC);
      await settle();
      clock.advance(700);
      granted.get(x)!.release();
    }
    const cheap = [enter('a'), enter('a')];
    await settle();
    clock.advance(5);
    for (const t of cheap) granted.get(t)!.release();
    // An exec runs; the next would take 700 ms in line and 700 ms to run.
    const running = enter('a', LANE_EXEC);
    await settle();
    assert.ok(granted.has(running));
    const exec = enter('a', LANE_EXEC);
    assert.ok(!exec.admitted && /about 69\d ms now, so this one would be answered in about 1.4 s/.test(exec.reason), JSON.stringify(exec));
    const logs = [enter('a'), enter('a')];
    await settle();
    assert.ok(logs.every((t) => t.admitted) && granted.has(logs[0]) && !granted.has(logs[1]), 'cheap calls (5 ms) take the free slot, and one waits for a slot');
    assert.equal(admission.snapshot().waiting, 1);
    for (const t of [running, ...logs]) granted.get(t)?.release();
  });

  it('an exec holds the lane to its end, but a long command leaves it once it has run past the threshold and other sandboxes\' execs get in; it keeps its slot', async () => {
    const { clock, admission, granted, enter } = setup({ runningPerSandbox: 2, runningTotal: 4, waitingPerSandbox: 4, waitingTotal: 8, slotHoldMs: 60_000, execAtOnceMax: 1 });
    // A short exec: started, then ended 100 ms later; the next exec (another sandbox) waits for its end.
    const short = enter('a', LANE_EXEC);
    const behindShort = enter('b', LANE_EXEC);
    await settle();
    granted.get(short)!.started();
    clock.advance(100);
    await settle();
    assert.ok(!granted.has(behindShort), 'a started exec that is still within its lane time keeps the lane');
    granted.get(short)!.release();
    await settle();
    assert.ok(granted.has(behindShort), 'its end lets the next one in');
    granted.get(behindShort)!.started();
    clock.advance(100);
    granted.get(behindShort)!.release();
    // Runs of 100 ms so far: the threshold is twice that, at least the 300 ms floor.
    assert.equal(admission.runInLane.thresholdMs, 300);
    // A long command (a test run) of sandbox a, and execs of two other sandboxes behind it.
    const long = enter('a', LANE_EXEC);
    const others = [enter('b', LANE_EXEC), enter('c', LANE_EXEC)];
    await settle();
    granted.get(long)!.started();
    clock.advance(299);
    await settle();
    assert.ok(others.every((t) => !granted.has(t)), 'before the threshold the others wait');
    clock.advance(1);
    await settle();
    assert.ok(granted.has(others[0]) && !granted.has(others[1]), 'at the threshold the long command leaves the lane: the next exec runs (one at a time)');
    assert.deepEqual(admission.snapshot().sandboxes.a, { running: 1, waiting: 0, long: 0 }, 'the long command keeps its slot');
    granted.get(others[0])!.release();
    await settle();
    assert.ok(granted.has(others[1]), 'and the lane goes on turning while the long command runs');
    assert.equal(admission.execConcurrency.limit, 1, 'unchanged: a command\'s own length is not the engine\'s');
    granted.get(others[1])!.release();
    clock.advance(10_000);
    granted.get(long)!.release();
    assert.equal(admission.runInLane.thresholdMs, 300, 'the long command (it left the lane) is not learnt from');
    assert.deepEqual(admission.snapshot(), { running: 0, waiting: 0, sandboxes: {} }, 'nothing left behind');
  });

  it('attacker\'s side: a sandbox whose commands run just under the threshold holds the lane one turn at a time, and cannot raise the threshold past its ceiling', async () => {
    const { clock, admission, granted, enter } = setup({ runningPerSandbox: 4, runningTotal: 6, waitingPerSandbox: 6, waitingTotal: 10, slotHoldMs: 60_000, execAtOnceMax: 1, callBudgetMs: 60_000 });
    /** Runs one exec of `sandbox` alone: started, then ended `ms` later. */
    const runAlone = async (sandbox: string, ms: number) => {
      const t = enter(sandbox, LANE_EXEC);
      await settle();
      granted.get(t)!.started();
      // In steps, as time passes: the manual clock fires a timer with the time at the step's end.
      for (let left = ms; left > 0; left -= 100) clock.advance(Math.min(100, left));
      granted.get(t)!.release();
    };
    // The agent teaches the threshold its slowest: runs just under it, then long ones (which leave the lane unlearnt).
    for (let i = 0; i < 16; i++) await runAlone('greedy', Math.max(1, admission.runInLane.thresholdMs - 1));
    for (let i = 0; i < 4; i++) await runAlone('greedy', 30_000);
    assert.equal(admission.runInLane.thresholdMs, 600, 'at most the ceiling');
    // Its flood holds the lane for up to the threshold per call, but another sandbox's exec gets the next turn.
    const flood = Array.from({ length: 4 }, () => enter('greedy', LANE_EXEC));
    await settle();
    const other = enter('other', LANE_EXEC);
    await settle();
    assert.ok([...flood, other].every((t) => t.admitted) && !granted.has(flood[1]) && !granted.has(other), 'the flood\'s other calls and the other sandbox\'s wait');
    granted.get(flood[0])!.started();
    clock.advance(599);
    granted.get(flood[0])!.release();
    await settle();
    assert.ok(granted.has(other) && !granted.has(flood[1]), 'the other sandbox goes before the flood\'s next call');
    for (const t of [other, ...flood]) {
      await settle();
      granted.get(t)?.release();
    }
  });

  it('the run threshold is twice the median of recent runs that ended in the lane, within its bounds', () => {
    const runs = new RunInLane({ min: 300, max: 600 });
    assert.equal(runs.thresholdMs, 300, 'the floor before any run');
    for (const ms of [200, 220, 250]) runs.learn(ms);
    assert.equal(runs.thresholdMs, 440);
    for (const ms of [2000, 5000]) runs.learn(ms);
    assert.equal(runs.thresholdMs, 500, 'a few long runs hardly move it');
    for (let i = 0; i < 16; i++) runs.learn(900);
    assert.equal(runs.thresholdMs, 600, 'a slow engine: at most the ceiling');
    for (let i = 0; i < 16; i++) runs.learn(50);
    assert.equal(runs.thresholdMs, 300, 'the last 16 only; an idle machine\'s fast runs: the floor');
  });

  it('the shipped limits are sane and the busy message tells the agent to retry', () => {
    assert.ok(BRIDGE_LIMITS.runningPerSandbox <= BRIDGE_LIMITS.runningTotal);
    assert.ok(BRIDGE_LIMITS.waitingPerSandbox <= BRIDGE_LIMITS.waitingTotal);
    assert.ok(BRIDGE_LIMITS.waitLimitMs <= BRIDGE_LIMITS.callBudgetMs, 'a call let in to wait is answered within its budget');
    assert.ok(BRIDGE_LIMITS.execRunInLaneMs.min <= BRIDGE_LIMITS.execRunInLaneMs.max && BRIDGE_LIMITS.execRunInLaneMs.max < BRIDGE_LIMITS.waitLimitMs, 'a long command leaves the lane before a call behind it gives up');
    assert.match(busyMessage('x', 2400), /^Busy: .*\(x\).*not run\. Retry in 3 s; calls made one after another are never refused/);
    assert.match(busyMessage('x', 0), /Retry in 1 s;/);
  });
});
