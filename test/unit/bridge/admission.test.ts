// Admission of bridge calls (src/bridge/admission.ts): a bounded number run and wait, per sandbox
// and in total; the rest are refused at once, and a flood from one sandbox cannot starve another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission, BRIDGE_LIMITS, busyMessage, CallWithdrawn, WaitedTooLong, type AdmissionClock, type AdmissionLimits, type Slot, type Ticket } from '../../../src/bridge/admission.js';

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

const LIMITS: AdmissionLimits = { runningPerSandbox: 2, runningTotal: 3, waitingPerSandbox: 2, waitingTotal: 3, slotHoldMs: 1000, longPerSandbox: 3, waitBudgetMs: 500, waitLimitMs: 10_000 };

function setup(limits: Partial<AdmissionLimits> = {}) {
  const clock = new ManualClock();
  const admission = new Admission({ ...LIMITS, ...limits }, clock);
  const granted = new Map<Ticket, Slot>();
  const enter = (sandbox: string): Ticket => {
    const ticket = admission.enter(sandbox);
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

  it('when calls slow down, a call that would wait past the budget is refused; a lone caller still gets in', async () => {
    const { clock, granted, enter } = setup({ waitingPerSandbox: 10, waitingTotal: 10 });
    const [a, b] = [enter('a'), enter('a')];
    await settle();
    clock.advance(600);
    granted.get(a)!.release();
    granted.get(b)!.release();
    // Calls take 600 ms: waiting one round already exceeds the 500 ms budget.
    const [c, d, e] = [enter('a'), enter('a'), enter('a')];
    await settle();
    assert.ok(c.admitted && d.admitted && granted.has(c) && granted.has(d), 'free slots are taken whatever the speed');
    assert.ok(!e.admitted && /calls take about 600 ms now, so this one would wait about 600 ms/.test(e.reason));
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
    assert.ok(err instanceof WaitedTooLong && /waited 800 ms for one of 2 slots/.test(err.message), String(err));
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

  it('the shipped limits are sane and the busy message tells the agent to retry', () => {
    assert.ok(BRIDGE_LIMITS.runningPerSandbox <= BRIDGE_LIMITS.runningTotal);
    assert.ok(BRIDGE_LIMITS.waitingPerSandbox <= BRIDGE_LIMITS.waitingTotal);
    assert.match(busyMessage('x'), /^Busy: .*\(x\).*not run\. Retry in a moment/);
  });
});
