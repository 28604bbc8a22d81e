// Config restarts spaced under systemd's start limit (config-restarts.ts, decision 0061), on a fake clock
// and fake timers: the wait the record calls for, the gate across process lifetimes, and a model of
// systemd's start rate limit (src/basic/ratelimit.c) fed with the starts that follow: restarts asked for
// as fast as a hub could for an hour are never refused, a configuration that crashes the agent while
// starting is still rescued within the limit, and a crash loop still reaches it. The unit's numbers are
// read from packaging/systemd/edgefleet-agent.service, so the two cannot drift apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KILLED_STARTS_ALLOWED } from './config-remote.js';
import {
  RestartGate, START_LIMIT, configRestartsPath, readRestarts, recordRestart, restartDelayMs, restartSpacing,
  type RestartClock, type RestartSpacing, type Timers,
} from './config-restarts.js';

const STOP_EXIT_MS = 9000; // agent.ts: the longest a stop takes before main.ts exits by force
const SPACING = restartSpacing(STOP_EXIT_MS);
const S = 1000;

/** systemd's ratelimit_below(): a start past the window's interval opens a new window; more than `burst` in one are refused. */
class StartLimit {
  private begin = -Infinity;
  private num = 0;
  constructor(private readonly intervalMs: number, private readonly burst: number) {}
  allow(ts: number): boolean {
    if (ts - this.begin > this.intervalMs) {
      this.begin = ts;
      this.num = 1;
      return true;
    }
    this.num++;
    return this.num <= this.burst;
  }
}

class FakeClock implements RestartClock {
  now = 1_000_000;
  constructor(readonly bootId = 'boot-a') {}
  monotonicMs(): number {
    return this.now;
  }
}

class FakeTimers implements Timers {
  private readonly due: Array<{ at: number; fn: () => void; h: number }> = [];
  private n = 0;
  constructor(private readonly clock: FakeClock) {}
  set(fn: () => void, ms: number): unknown {
    this.due.push({ at: this.clock.now + ms, fn, h: ++this.n });
    return this.n;
  }
  clear(h: unknown): void {
    const i = this.due.findIndex((d) => d.h === h);
    if (i >= 0) this.due.splice(i, 1);
  }
  get pending(): number {
    return this.due.length;
  }
  /** Moves the clock to the next timer and runs it. */
  runNext(): void {
    this.due.sort((a, b) => a.at - b.at);
    const d = this.due.shift();
    assert.ok(d, 'a timer is due');
    this.clock.now = Math.max(this.clock.now, d.at);
    d.fn();
  }
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ef-restarts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function gate(dataDir: string, clock: FakeClock, timers: FakeTimers, spacing: RestartSpacing = SPACING) {
  const exits: number[] = [];
  const logs: string[] = [];
  const g = new RestartGate({ dataDir, clock, spacing, timers, log: (_l, _o, msg) => logs.push(msg), exit: () => exits.push(clock.now) });
  return { g, exits, logs };
}

describe('config restarts under the start limit', () => {
  it('mirrors the unit: StartLimitIntervalSec, StartLimitBurst and RestartSec of packaging/systemd/edgefleet-agent.service', () => {
    const unit = readFileSync(fileURLToPath(new URL('../../packaging/systemd/edgefleet-agent.service', import.meta.url)), 'utf8');
    const value = (key: string) => /^(\d+)$/.exec(new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1] ?? '')?.[1];
    assert.equal(Number(value('StartLimitIntervalSec')) * 1000, START_LIMIT.intervalMs);
    assert.equal(Number(value('StartLimitBurst')), START_LIMIT.burst);
    assert.equal(Number(value('RestartSec')) * 1000, START_LIMIT.restartSecMs);
    assert.match(unit, /^Restart=always$/m);
    assert.ok(SPACING.windowMs > START_LIMIT.intervalMs + STOP_EXIT_MS, 'the window covers the unit\'s plus the longest stop');
  });

  it('waits only when the last `max` restarts are within the window, until the oldest of them leaves it', () => {
    const w = SPACING.windowMs;
    const now = 10 * w;
    assert.equal(restartDelayMs([], now, SPACING), 0);
    assert.equal(restartDelayMs([now - 1], now, SPACING), 0);
    assert.equal(restartDelayMs([now - 100 * S, now - 10 * S], now, SPACING), w - 100 * S);
    assert.equal(restartDelayMs([now - w - 1, now - 100 * S, now - 10 * S], now, SPACING), w - 100 * S, 'older ones do not count');
    assert.equal(restartDelayMs([now - w, now - 10 * S], now, SPACING), 0, 'one just out of the window');
    assert.equal(restartDelayMs([now, now], now, SPACING), w, 'never longer than the window');
    assert.equal(restartDelayMs([now + 5 * S, now + 9 * S], now, SPACING), 0, 'times past now (another boot\'s clock) do not count');
  });

  it('spaces restarts across processes through the record in the data dir; a second request while one waits, or a signal, adds none', (t) => {
    const dir = tempDir(t);
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    // Two processes in a row restart at once.
    for (let i = 0; i < 2; i++) {
      const p = gate(dir, clock, timers);
      p.g.request();
      assert.deepEqual(p.exits, [clock.now]);
      clock.now += 10 * S;
    }
    assert.equal(readRestarts(dir, clock).length, 2);
    // The third waits until the first of the two leaves the window.
    const first = readRestarts(dir, clock)[0]!;
    const third = gate(dir, clock, timers);
    third.g.request();
    third.g.request();
    assert.deepEqual([third.exits, timers.pending, third.g.waiting], [[], 1, true]);
    assert.match(third.logs[0]!, /^restart for the remote configuration in 114 s: at most 2 in 134 s, under the service manager's start limit/);
    timers.runNext();
    assert.deepEqual(third.exits, [first + SPACING.windowMs]);
    assert.equal(readRestarts(dir, clock).length, 2, 'the record keeps what is within the window');
    // A fourth, stopped by a signal while it waits: no exit, nothing recorded.
    clock.now += S;
    const fourth = gate(dir, clock, timers);
    fourth.g.request();
    assert.equal(fourth.g.waiting, true);
    fourth.g.cancel();
    assert.deepEqual([fourth.exits, timers.pending, readRestarts(dir, clock).length], [[], 0, 2]);
    fourth.g.request();
    assert.deepEqual(fourth.exits, [], 'stopping: no restart after');
    // A fifth, withdrawn while it waits (a newer configuration needs none): no exit, nothing recorded;
    // asked again later, it is spaced as usual.
    const fifth = gate(dir, clock, timers);
    assert.equal(fifth.g.withdraw(), false, 'nothing waiting');
    fifth.g.request();
    assert.equal(fifth.g.withdraw(), true);
    assert.deepEqual([fifth.exits, timers.pending, fifth.g.waiting, readRestarts(dir, clock).length], [[], 0, false, 2]);
    assert.match(fifth.logs.at(-1)!, /restart for the remote configuration withdrawn: the newest configuration needs none/);
    fifth.g.request();
    assert.equal(fifth.g.waiting, true, 'spaced again');
    timers.runNext();
    assert.equal(fifth.exits.length, 1);
    assert.equal(fifth.g.withdraw(), false, 'a restart under way cannot be taken back');
  });

  it('ignores a record of another boot or a broken one, and restarts anyway when the record cannot be written', (t) => {
    const dir = tempDir(t);
    const clock = new FakeClock('boot-b');
    const timers = new FakeTimers(clock);
    writeFileSync(configRestartsPath(dir), JSON.stringify({ boot: 'boot-a', at: [clock.now - S, clock.now - S] }));
    const a = gate(dir, clock, timers);
    a.g.request();
    assert.deepEqual(a.exits, [clock.now], 'another boot: the service manager counts afresh too');
    writeFileSync(configRestartsPath(dir), '{not json');
    const b = gate(dir, clock, timers);
    b.g.request();
    assert.deepEqual(b.exits, [clock.now]);
    const c = gate(join(dir, 'missing', 'dir'), clock, timers);
    c.g.request();
    assert.deepEqual(c.exits, [clock.now]);
    assert.match(c.logs[0]!, /could not record the restart in .*config-restarts\.json: restarting anyway/);
  });

  /**
   * Process lifetimes under systemd: each starts (counted by the start limit), asks for a config restart
   * `upMs` later (a hub sending a new restart setting at every start), exits when the gate lets it, stops
   * in `stopMs(i)` and is started RestartSec later. Returns the starts and the refused ones.
   */
  function simulate(dir: string, o: { spacing: RestartSpacing; forMs: number; upMs: number; stopMs: (i: number) => number }) {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const limit = new StartLimit(START_LIMIT.intervalMs, START_LIMIT.burst);
    const starts: number[] = [];
    let refused = 0;
    const end = clock.now + o.forMs;
    for (let at = clock.now, i = 0; at < end; i++) {
      clock.now = at;
      starts.push(at);
      if (!limit.allow(at)) refused++;
      const p = gate(dir, clock, timers, o.spacing);
      clock.now = at + o.upMs;
      p.g.request();
      if (p.exits.length === 0) timers.runNext();
      at = p.exits[0]! + o.stopMs(i) + START_LIMIT.restartSecMs;
    }
    return { starts, refused };
  }

  it('never trips the start limit with restarts asked for as fast as a hub could for an hour, whatever the stops take', (t) => {
    // Stops of 0 and of the longest a stop takes, alternating: the starts they lead to bunch up.
    const r = simulate(tempDir(t), { spacing: SPACING, forMs: 3600 * S, upMs: 500, stopMs: (i) => (i % 2 ? STOP_EXIT_MS : 0) });
    assert.equal(r.refused, 0);
    const restarts = r.starts.slice(1); // every start but the first follows a config restart
    const perWindow = Math.max(...restarts.map((s) => restarts.filter((x) => x >= s && x - s <= START_LIMIT.intervalMs).length));
    assert.equal(perWindow, SPACING.max, 'at most 2 config restarts\' starts within any StartLimitIntervalSec');
    assert.ok(r.starts.length > 50, `still restarts (${r.starts.length} times in an hour)`);
    // Unspaced, the same hub would have the unit failed within its first minute.
    const unspaced = simulate(tempDir(t), { spacing: { max: Infinity, windowMs: 1 }, forMs: 60 * S, upMs: 500, stopMs: () => 1000 });
    assert.ok(unspaced.refused > 0);
  });

  it(`leaves room for a configuration that crashes the agent while starting to be taken as failed after ${KILLED_STARTS_ALLOWED} such starts`, () => {
    // The worst window: the initial start, 2 config restarts (the second into a configuration that crashes
    // the agent while starting), KILLED_STARTS_ALLOWED crashed starts counted against it, and the start that
    // takes it as failed and runs the last good one. 0.5 s per crashed start, RestartSec between.
    const sequence = (configRestarts: number) => {
      const ts = [0];
      for (let i = 0; i < configRestarts; i++) ts.push(ts.at(-1)! + 1000 + START_LIMIT.restartSecMs);
      for (let i = 0; i < KILLED_STARTS_ALLOWED; i++) ts.push(ts.at(-1)! + 500 + START_LIMIT.restartSecMs);
      return ts;
    };
    const refusedIn = (ts: number[]) => {
      const limit = new StartLimit(START_LIMIT.intervalMs, START_LIMIT.burst);
      return ts.filter((x) => !limit.allow(x)).length;
    };
    assert.equal(refusedIn(sequence(SPACING.max)), 0, 'the rescue fits beside the restarts the gate allows');
    assert.ok(refusedIn(sequence(SPACING.max + 1)) > 0, 'one more restart per window and it would not: why max is 2');
  });

  it('does not space anything but config restarts: a start that fails over and over still reaches the start limit', () => {
    // A bad local config: exit 1 at once (config-restarts-process.test.ts checks it is not delayed), RestartSec, again.
    const limit = new StartLimit(START_LIMIT.intervalMs, START_LIMIT.burst);
    let at = 0;
    let n = 0;
    while (limit.allow(at)) {
      n++;
      at += 1500 + START_LIMIT.restartSecMs;
    }
    assert.equal(n, START_LIMIT.burst);
    assert.ok(at < START_LIMIT.intervalMs, `the unit gives up ${at / 1000} s after the first start`);
  });

  it('keeps only the restarts within the window in the record', (t) => {
    const dir = tempDir(t);
    const clock = new FakeClock();
    for (let i = 0; i < 40; i++) {
      recordRestart(dir, clock, SPACING);
      clock.now += 30 * S;
    }
    const kept = readRestarts(dir, clock);
    assert.ok(kept.length <= Math.ceil(SPACING.windowMs / (30 * S)), JSON.stringify(kept));
  });
});
