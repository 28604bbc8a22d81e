// A rollout of audio-energy 2.0.0 over 10 devices whose told devices answer at a chosen load and latency
// against control devices at 100 requests a window at 5 ms (latency-load.test.ts, accept.test.ts).
import type { GateResult } from '@edgefleet/shared';
import { notified, others, setup, v1Everywhere, win, type Env } from './testing.js';

/** `count` requests a window from each of `ids` on `version`, each answered in `ms` (active on it). */
function put(e: Env, ids: readonly string[], version: string, count: number, ms: number): void {
  const now = e.clock.now();
  for (const id of ids) {
    e.store.deployments.setStatus(id, 'audio-energy', version, 'active', now, { progress: 1 });
    const s = (e.seq.get(id) ?? 0) + 1;
    e.seq.set(id, s);
    e.store.telemetry.putWindows(id, [win(s, version, new Date(now.getTime() - 30_000), count, { ms })], now);
  }
}

export const ONE_WAVE = [{ name: 'all', percent: 100, bakeSec: 60 }];
export const CANARY = [{ name: 'canary', percent: 20, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
export const GATES = { minPredictions: 150, stuckSec: 600 };

/** 1.0.0 on 10 devices (100 requests a window at 5 ms), then a rollout of 2.0.0 with `waves`. */
export async function start(e: Env, waves: typeof ONE_WAVE, onFailure: 'rollback' | 'pause' = 'rollback') {
  await v1Everywhere(e);
  return e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves, gates: GATES, advance: 'auto', onFailure, reason: 'v2' }, { name: 'op' });
}

/** Two windows of the told devices (`count` a window at `ms`), the control's at 100 a window at 5 ms, then a step. */
export async function bakeAt(e: Env, id: string, count: number, ms: number): Promise<GateResult | undefined> {
  for (const step of [30_000, 31_000]) {
    e.clock.advance(step);
    put(e, notified(e, id), '2.0.0', count, ms);
    put(e, others(e, id), '1.0.0', 100, 5);
  }
  await e.engine.tick();
  return e.engine.view(id).waves[e.store.rollouts.get(id).currentWave]?.gates.find((g) => g.name === 'latency_p95');
}

/** `fn` over a hub of 10 devices, closed after. */
export async function withHub(fn: (e: Env) => Promise<void>): Promise<void> {
  const e = await setup(10);
  try {
    await fn(e);
  } finally {
    await e.close();
  }
}
