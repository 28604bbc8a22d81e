// How often a device may replace its device key over its state reports (docs/security.md "Sealed models").
// Each change is an audit entry, a new desired document and a sealing (an X25519 step) per encrypted
// version it runs; a box whose data dir was rebuilt changes it once, while a device (or a stolen secret)
// sending a new key in every report would make the hub do all of that at the broker's publish rate.
// Past the limit a new key is refused until the hour slides; the keys stay sealed to the last one taken.

export interface KeyChangeLimits {
  /** Changes taken per device within `windowMs`. */
  perWindow: number;
  windowMs: number;
  /** Devices remembered (the ones that changed least recently are forgotten first). */
  maxDevices: number;
  /** A refusal is reported at most this often per device. */
  reportEveryMs: number;
}

export const DEFAULT_KEY_CHANGE_LIMITS: KeyChangeLimits = { perWindow: 4, windowMs: 3600_000, maxDevices: 10_000, reportEveryMs: 60_000 };

export type KeyChangeVerdict = 'take' | 'refuse' | 'refuse-and-report';

export class KeyChangeLimit {
  private readonly limits: KeyChangeLimits;
  /** Per device: the times of the changes taken within the window, and when a refusal was last reported. */
  private readonly devices = new Map<string, { taken: number[]; reported: number }>();

  constructor(limits: Partial<KeyChangeLimits> = {}) {
    this.limits = { ...DEFAULT_KEY_CHANGE_LIMITS, ...limits };
  }

  /** Whether the device may change its key at `now` (then counted), or not (reported once per reportEveryMs). */
  check(deviceId: string, now: Date): KeyChangeVerdict {
    const t = now.getTime();
    const { perWindow, windowMs, maxDevices, reportEveryMs } = this.limits;
    const d = this.devices.get(deviceId) ?? { taken: [], reported: -Infinity };
    d.taken = d.taken.filter((x) => x <= t && t - x < windowMs);
    this.devices.delete(deviceId); // inserted again below: the map's order is least recently seen first
    if (this.devices.size >= maxDevices) {
      const oldest = this.devices.keys().next();
      if (!oldest.done) this.devices.delete(oldest.value);
    }
    this.devices.set(deviceId, d);
    if (d.taken.length < perWindow) {
      d.taken.push(t);
      return 'take';
    }
    if (t - d.reported < reportEveryMs && t >= d.reported) return 'refuse';
    d.reported = t;
    return 'refuse-and-report';
  }
}
