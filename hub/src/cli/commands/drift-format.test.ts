// `edgefleet drift` where no group has a verdict (too few predictions, no reference): no TREND header over
// nothing, and a last line saying there is no verdict in the range and what to try (docs/drift.md, docs/cli.md);
// and PSI and JS printed so that the number never contradicts the verdict at its threshold.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftGroup, DriftResponse, FeatureDrift } from '@edgefleet/shared';
import { fmtVs, formatDrift } from './drift.js';

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
  assert.match(few, /\nno drift verdict for vib 1\.0\.0 in this range \(2026-01-01T00:00:00\.000Z \.\. 2026-01-02T00:00:00\.000Z\): expected more predictions: a longer range \(--since 7d\)\n$/);
  const noRef = formatDrift(response([thin('vib 1.0.0 has no reference')], null));
  assert.match(noRef, /no drift verdict .*: the manifest has no reference to compare with: compare with a period \(--baseline START\/END\)\n$/);
  assert.doesNotMatch(formatDrift(response([], null)), /TREND/, 'no predictions at all: no trend either');
  // A verdict keeps its trend header and says nothing of "no verdict".
  const ok = formatDrift(response([{ ...thin(null), predictions: 500 }], 'abcdef0123456789'));
  assert.match(ok, /^TREND: PSI of all devices per 1 h/m);
  assert.doesNotMatch(ok, /no drift verdict/);
});

it('prints PSI and JS so that the number never contradicts the verdict at its threshold', () => {
  const feature = (name: string, psi: number, js: number): FeatureDrift => ({
    name, kind: 'numeric', n: 5000, psi, js, ks: 0.01, chi2_p: null, mean: 1, baselineMean: 1, drifted: psi >= 0.2 || js >= 0.1, bins: null,
  });
  const g: DriftGroup = {
    ...thin(null), predictions: 5000, drifted: true,
    features: [feature('below', 0.1996, 0.0999), feature('hair', 0.19999999, 0.05), feature('at', 0.2, 0.1), feature('above', 0.2504, 0.02)],
    worstDevices: [{ deviceId: 'd1', predictions: 2000, psi: 0.1996, feature: 'below' }, { deviceId: 'd2', predictions: 2000, psi: 0.3456, feature: 'above' }],
  };
  const out = formatDrift(response([g], 'abcdef0123456789'));
  const row = (name: string) => out.split('\n').find((l) => l.trimStart().startsWith(`${name} `))?.trim().split(/\s+/);
  // [name, kind, PSI, JS, ...]
  assert.deepEqual(row('below')?.slice(2, 4), ['0.1996', '0.0999'], 'not 0.200 and 0.100 beside thresholds 0.2 and 0.1');
  assert.deepEqual(row('hair')?.slice(2, 4), ['0.199999', '0.050'], 'cut, not rounded up to the threshold');
  assert.deepEqual(row('at')?.slice(2, 4), ['0.200', '0.100']);
  assert.match(row('at')?.join(' ') ?? '', /DRIFT/);
  assert.deepEqual(row('above')?.slice(2, 4), ['0.250', '0.020']);
  assert.match(out, /worst devices: d1 \(below PSI 0\.1996\), d2 \(above PSI 0\.35\)/);
  for (const [x, t, want] of [[0.0996, 0.1, '0.0996'], [0.1049, 0.105, '0.1049'], [0.3, 0.2, '0.300'], [0, 0.2, '0.000']] as const) assert.equal(fmtVs(x, t), want, `${x} at ${t}`);
  assert.equal(fmtVs(null, 0.2), '-');
});

it('ends with advice that fits why there is no verdict: groups to leave out, a thin baseline period, a range not begun', () => {
  const grouped = { ...response([thin('5 predictions: expected at least 100 for a drift verdict')], 'abcdef0123456789'), by: 'tag:site' };
  assert.match(formatDrift(grouped), /: expected more predictions: a longer range \(--since 7d\), or fewer groups \(leave out --by tag:site\)\n$/);
  const period = { ...response([{ ...thin('the baseline 2025-12-01 .. 2025-12-02 has 0 predictions: expected at least 100'), predictions: 500 }], null), baseline: { kind: 'range' as const, since: '2025-12-01T00:00:00.000Z', until: '2025-12-02T00:00:00.000Z' } };
  period.thresholds = { psi: 0.2, js: 0.1, minPredictions: 100 };
  assert.match(formatDrift(period), /: the baseline period has too few predictions to compare with: expected a period with this version's traffic \(--baseline START\/END\) or the reference\n$/);
  const ahead = formatDrift(response([thin('0 predictions')], 'abcdef0123456789'), new Date('2025-12-31T23:00:00Z'));
  assert.match(ahead, /: the range is in the future \(now is 2025-12-31T23:00:00\.000Z\): no device has reported in it yet: expected a range that has begun \(--since 24h\)\n$/);
  assert.match(formatDrift(response([thin('0 predictions')], 'abcdef0123456789'), new Date('2026-01-01T00:30:00Z')), /a longer range/, 'a range begun is not in the future');
});
