// The stories' rollout waves (npm start, the loop example): the device tagged ring=canary first, as a
// staging ring (docs/rollouts.md "Staging rings"), judged against the devices still on the previous
// version; then every device. So the device the fleet view shows as ring=canary is the canary.
import { waveLabel, type Rollout } from '@edgefleet/shared';

export function canaryThenAll(bakeSec: number): Array<Record<string, unknown>> {
  return [
    { name: 'canary', tags: { ring: 'canary' }, bakeSec },
    { name: 'all', percent: 100, bakeSec: Math.max(1, Math.ceil(bakeSec / 2)) },
  ];
}

/** "canary [ring=canary] (1 device(s), bake 20 s) -> all 100% (3 device(s), bake 10 s)" (shared's waveLabel). */
export function describeWaves(r: Rollout): string {
  return r.waves.map((w) => `${waveLabel(w)} (${w.devices} device(s), bake ${w.bakeSec} s)`).join(' -> ');
}
