// `edgefleet drift` where no group has a verdict (too few predictions, no reference): no TREND header over
// nothing, and a last line saying there is no verdict in the range and what to try (docs/drift.md, docs/cli.md).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftGroup, DriftResponse } from '@edgefleet/shared';
import { formatDrift } from './drift.js';

const response = (groups: DriftGroup[], id: string | null): DriftResponse => ({
  model: 'vib', version: '1.0.0', since: '2026-01-01T00:00:00.000Z', until: '2026-01-02T00:00:00.000Z', by: null,
  baseline: { kind: 'reference', id }, thresholds: { psi: 0.2, js: 0.1 } as DriftResponse['thresholds'], groups,
  timeline: { starts: ['2026-01-01T00:00:00.000Z'], bucketSec: 3600, psi: { x: [null] } },
});
const thin = (insufficient: string | null): DriftGroup => ({ key: 'all', devices: 1, predictions: 5, insufficient, drifted: false, features: [], outputs: [], worstDevices: [], leftOut: null });

it('with no verdict prints no TREND header and ends saying so, with what to try', () => {
  const few = formatDrift(response([thin('5 predictions: expected at least 100 for a drift verdict')], 'abcdef0123456789'));
  assert.doesNotMatch(few, /TREND/);
  assert.match(few, /no verdict: 5 predictions: expected at least 100/);
  assert.match(few, /\nno drift verdict for vib 1\.0\.0 in this range \(2026-01-01T00:00:00\.000Z \.\. 2026-01-02T00:00:00\.000Z\): expected more predictions: a longer range \(--since 7d, --until\)/);
  const noRef = formatDrift(response([thin('vib 1.0.0 has no reference')], null));
  assert.match(noRef, /no drift verdict .*: the manifest has no reference to compare with: compare with a period \(--baseline START\/END\)\n$/);
  assert.doesNotMatch(formatDrift(response([], null)), /TREND/, 'no predictions at all: no trend either');
  // A verdict keeps its trend header and says nothing of "no verdict".
  const ok = formatDrift(response([{ ...thin(null), predictions: 500 }], 'abcdef0123456789'));
  assert.match(ok, /^TREND: PSI of all devices per 1 h/m);
  assert.doesNotMatch(ok, /no drift verdict/);
});
