// Session settings from a manifest's runtime and the agent's overrides (session.ts sessionSettings): a
// signed bundle's thread counts are held to MAX_ORT_THREADS, as the agent's own settings are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ORT_THREADS } from '@edgefleet/shared';
import { sessionSettings } from './session.js';

const RUNTIME = { opset: 17, minAgentVersion: '0.1.0', executionProviders: ['cpu'] };

test('defaults, the manifest, the overrides, and a manifest past MAX_ORT_THREADS held to it', () => {
  assert.deepEqual(sessionSettings(RUNTIME), { intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimization: 'all' });
  assert.equal(sessionSettings({ ...RUNTIME, intraOpThreads: 4 }).intraOpThreads, 4);
  assert.equal(sessionSettings({ ...RUNTIME, intraOpThreads: 4 }, { intraOpThreads: 2 }).intraOpThreads, 2);
  const big = sessionSettings({ ...RUNTIME, intraOpThreads: 100_000, interOpThreads: MAX_ORT_THREADS + 1 });
  assert.deepEqual([big.intraOpThreads, big.interOpThreads], [MAX_ORT_THREADS, MAX_ORT_THREADS]);
});
