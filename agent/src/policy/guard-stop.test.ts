// PolicyGuard.stop() with a local rollback that never ends (an install lock held, a disk that does not
// answer): the guard's own deadline (POLICY_STOP_MS) comes inside the agent's step for it (agent.ts
// STOP_MS.batch), so the guard names the stuck rollback and its timer ends with the step. Before, its 10 s
// outlasted the agent's whole stop (main.ts exits at 9 s): the warning came after "stopped", or never.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline } from '@edgefleet/shared/core';
import type { Policy } from '@edgefleet/shared';
import { STOP_MS } from '../agent.js';
import type { Switched } from '../install/manager.js';
import type { Logger } from '../log.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { ModelsRepo } from '../store/models-repo.js';
import { POLICY_STOP_MS, PolicyGuard } from './guard.js';

describe('policy guard stop with a rollback that never ends', () => {
  it('the guard\'s deadline comes inside the agent\'s step: stop() returns by itself, naming the rollback', async () => {
    assert.ok(POLICY_STOP_MS < STOP_MS.batch, `POLICY_STOP_MS ${POLICY_STOP_MS} inside STOP_MS.batch ${STOP_MS.batch}`);
    const policy: Policy = { maxErrorRate: 0, maxP95LatencyMs: 250, observationWindowSec: 3600, minRequests: 1 };
    const warned: string[] = [];
    const log = () => undefined;
    const logger: Logger = { error: log, info: log, debug: log, warn: (obj: unknown, msg?: string) => { warned.push(typeof obj === 'string' ? obj : msg ?? ''); } };
    const emitted: string[] = [];
    let rollbacks = 0;
    const guard = new PolicyGuard({
      models: {
        listActive: () => [],
        getVersion: () => ({ manifest: { policy } }),
        getActive: () => ({ name: 'mlp', active: '2.0.0', previous: '1.0.0' }),
        originOf: () => 'local',
      } as unknown as ModelsRepo,
      events: { lastSwitch: () => undefined } as unknown as EventsRepo,
      manager: { rollback: () => { rollbacks += 1; return new Promise(() => undefined); } },
      emit: (e) => { emitted.push(e.kind); },
      logger,
    });
    guard.switched({ name: 'mlp', version: '2.0.0', previous: '1.0.0', reason: 'install' } as Switched);
    guard.recordError('mlp', '2.0.0', 'INFERENCE_FAILED', 1); // a model failure: breached (maxErrorRate 0)
    assert.deepEqual(emitted, ['policy_breach']);
    assert.equal(rollbacks, 1, 'the rollback began, and never ends');
    // The agent's step passes a stop that has not ended by STOP_MS.batch: the guard must end first.
    await withDeadline(guard.stop(), STOP_MS.batch, 'the agent\'s policy step');
    assert.deepEqual(warned, ['a policy rollback did not finish before the stop deadline']);
  });
});
