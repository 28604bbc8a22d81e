// A device's presence and state events on the bus, at most one of each per device per interval (docs/hub.md
// "Live stream"). They come from what the device does: one enrolled box reconnecting in a loop put 1,768
// presence events in 6 s into every operator's stream, and its small state reports 111 a second, so the
// resume ring (2,048 events) turned over in seconds and a console reconnecting after a blip got `reset`
// instead of the deployment progress it missed. Both say the device's latest word, so the newest event
// within the interval replaces the ones before it and is published when the interval ends: a stream
// still ends on what the device last said.

/** Per device and kind, one event per this many milliseconds at most (the rest wait, newest kept). */
export const DEVICE_EVENT_EVERY_MS = 1000;

export class DeviceEventPacer<T> {
  /**
   * When each device's last event was published (`now()`'s time), oldest first: those whose interval has
   * ended are forgotten from the front at each publication, so it holds the devices of the last interval.
   */
  private readonly sent = new Map<string, number>();
  /** The newest event of each device waiting for its interval to end. */
  private readonly held = new Map<string, T>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly emit: (deviceId: string, data: T) => void,
    private readonly everyMs = DEVICE_EVENT_EVERY_MS,
    /** Milliseconds that never step (default performance.now). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  offer(deviceId: string, data: T): void {
    if (this.stopped) return;
    const at = this.sent.get(deviceId);
    if (at === undefined || this.now() - at >= this.everyMs) {
      this.held.delete(deviceId);
      this.publish(deviceId, data);
      return;
    }
    this.held.set(deviceId, data);
    this.timer ??= setTimeout(() => this.flush(), this.everyMs).unref();
  }

  /** Drops what waits and publishes nothing more (the sources are disconnected). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held.clear();
    this.sent.clear();
  }

  /** How many devices' events wait, and how many devices' last publication is remembered. */
  get sizes(): { waiting: number; remembered: number } {
    return { waiting: this.held.size, remembered: this.sent.size };
  }

  private publish(deviceId: string, data: T): void {
    const now = this.now();
    for (const [id, at] of this.sent) {
      if (now - at < this.everyMs) break;
      this.sent.delete(id);
    }
    this.sent.delete(deviceId); // re-inserted last: the map stays in order of publication
    this.sent.set(deviceId, now);
    this.emit(deviceId, data);
  }

  private flush(): void {
    this.timer = null;
    const now = this.now();
    for (const [id, data] of this.held) {
      if (now - (this.sent.get(id) ?? -Infinity) < this.everyMs) continue;
      this.held.delete(id);
      this.publish(id, data);
    }
    if (this.held.size) this.timer = setTimeout(() => this.flush(), this.everyMs).unref();
  }
}
