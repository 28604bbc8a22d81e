// Test helpers of configuration rollouts (config-rollout.test.ts, config-overlap.test.ts) on the rollout
// test environment (testing.ts): what the agents would report, and walking a rollout's waves.
import assert from 'node:assert/strict';
import type { ReportedState } from '@edgefleet/shared';
import { notified, others, report, type Env } from './testing.js';

/**
 * What the agents would report: the configuration they are sent, applied (or refused: as an agent does,
 * still naming the one it runs, agent/src/sync/config-apply.ts), and a start count.
 */
export function reportConfig(e: Env, ids: readonly string[], o: { refuse?: boolean; starts?: number } = {}): void {
  for (const id of ids) {
    const want = e.parts.config.desiredFor(id)!;
    const prev = e.store.devices.get(id).reported as Partial<ReportedState> | null;
    const state = {
      schema: 'edgefleet.state/v1', deviceId: id, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1, models: [], capabilities: [],
      config: o.refuse
        ? { sha256: prev?.config?.sha256 ?? null, sources: prev?.config?.sources ?? [], status: 'failed', at: e.clock.now().toISOString(), error: { sha256: want.sha256, code: 'CONFIG_INVALID', message: 'summaries.windowSec: refused', field: 'summaries.windowSec' } }
        : { sha256: want.sha256, sources: want.sources, status: 'applied', at: e.clock.now().toISOString() },
      starts: o.starts ?? prev?.starts ?? 1,
    } satisfies ReportedState;
    e.store.devices.setReported(id, state);
  }
}

/** A minute later: `applying` (default every told device) apply what they are sent and send windows, so do the devices not told; one step. */
export async function minute(e: Env, id: string, applying: readonly string[] = notified(e, id)): Promise<void> {
  e.clock.advance(61_000);
  reportConfig(e, applying);
  report(e, applying, '1.0.0');
  report(e, others(e, id), '1.0.0');
  await e.engine.tick();
}

/** Walks a rollout's waves with every told device applying it and sending windows, until it completes. */
export async function complete(e: Env, id: string): Promise<void> {
  for (let i = 0; i < 6 && e.store.rollouts.get(id).state === 'running'; i++) await minute(e, id);
  assert.equal(e.store.rollouts.get(id).state, 'completed', JSON.stringify(e.engine.view(id).waves.map((w) => w.gates)));
}
