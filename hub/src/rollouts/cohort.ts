// A device's place in a rollout and the waves' members (docs/rollouts.md "Cohorts"). The place is a
// stable hash of (rollout id, device id) in [0, 100): wave k holds the devices whose place is below its
// cumulative percent, topped up to its minDevices with the next places, so waves nest and a device that
// enrolls or is re-tagged during the rollout lands in its place without moving anyone else. A staging
// ring (a wave with tags) holds every device with its tags; the percent waves after it share out the
// other devices by place, so a ring device is never counted twice. So a percent wave's size is a draw per
// rollout id (34 % of 3 devices: 1, 2 or 3), not the percent of the count rounded: docs/rollouts.md "Cohorts".
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

/** A device's tags (the rings need them); undefined for a device with none known. */
export type TagsOf = (deviceId: string) => Readonly<Record<string, string>> | undefined;

/**
 * The index of the first wave each device belongs to. A ring takes every device (not in an earlier ring)
 * whose tags include its tags. The rest, sorted by place: percent wave k takes every place below its
 * percent; when that is fewer than its minDevices it takes the next lowest places too.
 */
export function waveOf(devices: readonly Placed[], waves: readonly Wave[], tagsOf: TagsOf = () => undefined): Map<string, number> {
  const out = new Map<string, number>();
  const rings = [...waves.entries()].filter(([, w]) => w.tags !== undefined);
  const rest: Placed[] = [];
  for (const d of devices) {
    const tags = rings.length ? tagsOf(d.deviceId) : undefined;
    const k = tags ? rings.find(([, w]) => Object.entries(w.tags ?? {}).every(([key, v]) => tags[key] === v))?.[0] : undefined;
    if (k === undefined) rest.push(d);
    else out.set(d.deviceId, k);
  }
  const sorted = rest.sort((a, b) => a.place - b.place || a.deviceId.localeCompare(b.deviceId));
  let taken = 0;
  for (const [k, w] of waves.entries()) {
    if (w.percent === undefined) continue;
    let n = 0;
    while (n < sorted.length && (sorted[n] as Placed).place < w.percent) n++;
    if (k === waves.length - 1 && w.percent >= 100) n = sorted.length;
    n = Math.min(sorted.length, Math.max(n, w.minDevices ?? 0, taken));
    for (let i = taken; i < n; i++) out.set((sorted[i] as Placed).deviceId, k);
    taken = n;
  }
  return out;
}
