// A device's place in a rollout and the waves' members (docs/rollouts.md "Cohorts"). The place is a
// stable hash of (rollout id, device id) in [0, 100): wave k holds the devices whose place is below its
// cumulative percent, topped up to its minDevices with the next places, so waves nest and a device that
// enrolls or is re-tagged during the rollout lands in its place without moving anyone else.
import { createHash } from 'node:crypto';
import type { Wave } from '@edgefleet/shared';

/** sha256(rolloutId NUL deviceId), first 48 bits, scaled to [0, 100). */
export function place(rolloutId: string, deviceId: string): number {
  const h = createHash('sha256').update(rolloutId).update('\0').update(deviceId).digest();
  return (h.readUIntBE(0, 6) / 2 ** 48) * 100;
}

export interface Placed {
  deviceId: string;
  place: number;
}

/**
 * The index of the first wave each device belongs to, for devices sorted by place. Wave k takes every
 * place below its percent; when that is fewer than its minDevices it takes the next lowest places too.
 */
export function waveOf(devices: readonly Placed[], waves: readonly Wave[]): Map<string, number> {
  const sorted = [...devices].sort((a, b) => a.place - b.place || a.deviceId.localeCompare(b.deviceId));
  const out = new Map<string, number>();
  let taken = 0;
  for (const [k, w] of waves.entries()) {
    let n = 0;
    while (n < sorted.length && (sorted[n] as Placed).place < w.percent) n++;
    if (k === waves.length - 1 && w.percent >= 100) n = sorted.length;
    n = Math.min(sorted.length, Math.max(n, w.minDevices ?? 0, taken));
    for (let i = taken; i < n; i++) out.set((sorted[i] as Placed).deviceId, k);
    taken = n;
  }
  return out;
}
