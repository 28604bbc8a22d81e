// A rollout saved by one hub (a step, an operator action) refuses another hub's save of a copy loaded
// before it (migration 81; docs/decisions/0041-several-hubs.md): CONFLICT, nothing overwritten; a copy
// loaded again saves. Two connections to one SQLite file, as two hub processes have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';

test('a save of a rollout loaded before another hub saved it is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-rollout-rev-'));
  const a = Store.open(dir, HUB_MIGRATIONS, { shared: true });
  const b = Store.open(dir, HUB_MIGRATIONS, { shared: true });
  try {
    const at = '2026-12-02T08:00:00.000Z';
    const record: RolloutRecord = {
      id: 'r-1', model: 'm', version: '2.0.0', fromVersion: '1.0.0', target: { all: true }, waves: [], gates: {} as RolloutRecord['gates'], window: null,
      advance: 'auto', onFailure: 'pause', state: 'running', currentWave: 0, progress: [], deploymentId: null, reason: 'test', stateReason: null,
      createdBy: 'admin', createdAt: at, updatedAt: at,
    };
    a.rollouts.create(record);
    const step = a.rollouts.get('r-1'); // the lease holder's step loads it ...
    const action = b.rollouts.get('r-1'); // ... and an operator pauses it on the other hub meanwhile
    action.state = 'paused';
    action.stateReason = 'operator pause';
    b.rollouts.save(action);
    step.currentWave = 1;
    assert.throws(() => a.rollouts.save(step), (err: unknown) => err instanceof AppError && err.code === 'CONFLICT' && /r-1 changed since it was loaded/.test(err.message));
    assert.equal(a.rollouts.get('r-1').state, 'paused', 'the pause stands');
    assert.equal(a.rollouts.get('r-1').currentWave, 0);
    const again = a.rollouts.get('r-1');
    again.stateReason = 'operator pause, noted';
    a.rollouts.save(again);
    a.rollouts.save(again); // the same copy saves again: its revision followed
    assert.equal(b.rollouts.get('r-1').revision, 3);
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
