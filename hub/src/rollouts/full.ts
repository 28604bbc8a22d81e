// `promote --full` (docs/rollouts.md "Promoting to the full fleet", docs/decisions on promoting to the full
// fleet): an operator who has seen enough sends the rest of the fleet in one step. The current wave is still
// judged (its bake is cut short, as a plain promote does; its blocking gates must pass unless accepted); once
// it passes, the last wave (every remaining device of the target) opens at once, under manual advance too,
// and the waves between read `skipped`. Their devices are the last wave's: waves nest (cohort.ts waveOf).
import { AppError } from '@edgefleet/shared';
import type { RolloutRecord, WaveProgress } from '../store/rollouts-repo.js';
import type { Actor, RolloutEngine } from './engine.js';
import { advance } from './judge.js';
import { waysOn } from './ways-on.js';

function refuse(r: RolloutRecord, message: string): never {
  throw new AppError('CONFLICT', `rollout ${r.id} ${message}; ${waysOn(r)}`, {
    details: { rollout: r.id, state: r.state, wave: r.waves[r.currentWave]?.name ?? null, waveState: r.progress[r.currentWave]?.state ?? null },
  });
}

/** Marks the current wave to open the last one once it passes (at once if it passed already). */
export function promoteFull(engine: RolloutEngine, r: RolloutRecord, reason: string, now: Date, actor: Actor): void {
  const k = r.currentWave;
  const p = r.progress[k];
  const w = r.waves[k];
  const last = r.waves.length - 1;
  if (r.state !== 'running' || !p || !w) refuse(r, `is ${r.state}: promote --full expects a running rollout`);
  if (k >= last) refuse(r, `is on its last wave ${w.name}: promote --full expects a wave before the last (a plain promote skips its bake, or completes it once passed)`);
  if (p.full) refuse(r, `was promoted to the full fleet already by ${p.full.by} at ${p.full.at}: wave ${w.name} opens the last once it passes`);
  if (p.state === 'failed' || p.state === 'stopped' || p.state === 'skipped') refuse(r, `wave ${w.name} is ${p.state}: promote --full expects it deploying, baking, judged or passed`);
  p.full = { by: actor.name, reason, at: now.toISOString() };
  const skipping = r.waves.slice(k + 1, last).map((x) => x.name);
  const cut = p.state === 'baking' && p.bakeUntil ? Math.round(Math.max(0, Date.parse(p.bakeUntil) - now.getTime()) / 1000) : null;
  if (cut !== null) p.bakeUntil = now.toISOString();
  engine.transition(r, 'rollout.promote', reason, { full: true, opens: r.waves[last]?.name, skips: skipping, ...(cut !== null ? { skippedBakeSec: cut } : {}) }, now, actor);
  if (p.state === 'passed') advance(engine, r, now, actor, reason);
}

/**
 * Called as a passed wave moves on: when it was promoted to the full fleet, the waves between it and the last
 * are marked skipped and the rollout stands on the one before the last (advance then opens the last).
 * Returns what the wave_next entry says of it, or null.
 */
export function skipToLast(r: RolloutRecord): { skipped: string[]; full: NonNullable<WaveProgress['full']> } | null {
  const full = r.progress[r.currentWave]?.full;
  const last = r.waves.length - 1;
  if (!full || r.currentWave >= last) return null;
  const skipped: string[] = [];
  for (let k = r.currentWave + 1; k < last; k++) {
    const q = r.progress[k];
    if (q) q.state = 'skipped';
    skipped.push(r.waves[k]?.name ?? `#${k}`);
  }
  r.currentWave = last - 1;
  return { skipped, full };
}

/** Whether a passed wave moves on by itself: auto advance, or an operator promoted it to the full fleet. */
export const movesOn = (r: RolloutRecord): boolean => r.advance === 'auto' || r.progress[r.currentWave]?.full !== undefined;
