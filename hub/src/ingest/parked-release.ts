// Parked windows released (docs/decisions/0097-parked-windows.md): once a parked version is in the registry
// again, each sweep (ingest/parked.ts) stores its windows and events through the guard and the window writer,
// RELEASE_BATCH at a time, a device's rows together, and deletes them from the parked table after the commit.
import type { DeviceEvent, SeqWindow } from '@edgefleet/shared';
import type { ParkedRepo } from '../store/parked-repo.js';
import type { LoggerPort } from '../mqtt/ports.js';

/** Parked windows stored per transaction by the sweep (the window writer's MAX_BATCH). */
export const RELEASE_BATCH = 500;

export interface ReleaseDeps {
  repo: ParkedRepo;
  logger: LoggerPort;
  stopped: () => boolean;
  /** Stores a device's windows and events (ParkedDeps.release); `stored` runs after their commit. */
  release(deviceId: string, windows: SeqWindow[], events: DeviceEvent[], stored: () => void): Promise<void>;
  /** Characters deleted from the table once stored. */
  removed(bytes: number): void;
  /** A device's parked rows were stored: its count is read again at its next parking. */
  released(deviceId: string): void;
}

/** Stores the parked windows of every version the registry holds again; resolves to how many. */
export async function releaseParked(deps: ReleaseDeps): Promise<number> {
  let n = 0;
  for (const v of deps.repo.releasable()) {
    for (;;) {
      if (deps.stopped()) return n;
      const rows = deps.repo.take(v.model, v.version, RELEASE_BATCH);
      if (!rows.length) break;
      const byDevice = new Map<string, typeof rows>();
      for (const r of rows) {
        const list = byDevice.get(r.deviceId);
        if (list) list.push(r);
        else byDevice.set(r.deviceId, [r]);
      }
      for (const [deviceId, list] of byDevice) {
        deps.repo.seen(deviceId, v.model, v.version);
        const windows: SeqWindow[] = [];
        const events: DeviceEvent[] = [];
        for (const r of list) {
          const o = JSON.parse(r.window) as Omit<SeqWindow, 'seq'> | { event: Omit<DeviceEvent, 'seq'> };
          if ('event' in o) events.push({ ...o.event, seq: r.seq });
          else windows.push({ ...o, seq: r.seq });
        }
        await deps.release(deviceId, windows, events, () => {
          deps.removed(deps.repo.remove(list).reduce((a, r) => a + r.window.length, 0));
        });
        deps.released(deviceId);
        n += list.length;
        deps.logger.info({ deviceId, model: v.model, version: v.version, windows: windows.length, events: events.length },
          events.length ? 'stored parked telemetry windows and events in the device\'s history: their model version is in the registry now (the events not acted on: deployment status follows the device\'s reported state)'
            : 'stored parked telemetry windows: their model version is in the registry now');
      }
    }
  }
  return n;
}
