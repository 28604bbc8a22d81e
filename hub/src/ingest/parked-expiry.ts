// Parked windows expire (docs/decisions/0097-parked-windows.md, docs/hub.md "What the hub accepts from
// devices"): a version never pushed (a box running a version installed from a file, `edgefleet-agent
// install`, whose bundle never reaches the registry) would otherwise keep its windows parked for ever.
// Each sweep (ingest/parked.ts) deletes those parked longer ago than ingest.parkedRetentionDays, oldest
// first, EXPIRE_BATCH at a time (each batch one transaction, the event loop free between them) and at most
// EXPIRE_BATCHES per sweep; the rest waits for the next sweep. Counted (edgefleet_ingest_parked_expired_total)
// and logged once per sweep, naming the versions.
import type { ParkedRepo } from '../store/parked-repo.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';

/** Parked windows deleted per transaction. */
export const EXPIRE_BATCH = 500;
/** Batches per sweep at most (10,000 windows every 10 s: far above what devices park). */
export const EXPIRE_BATCHES = 20;
/** Versions the sweep's log line names at most (the most windows first; `versions` counts them all). */
const LOGGED_VERSIONS = 20;

export interface ExpiredParked {
  windows: number;
  /** Characters removed per device (so the parking counts follow without reading the table again). */
  bytesByDevice: Map<string, number>;
}

/** Deletes the windows parked before `before`; logs and counts what went. */
export async function expireParked(
  deps: { repo: ParkedRepo; logger: LoggerPort; metrics?: MetricsPort | undefined; stopped: () => boolean },
  before: Date, retentionDays: number,
): Promise<ExpiredParked> {
  const out: ExpiredParked = { windows: 0, bytesByDevice: new Map() };
  const versions = new Map<string, number>();
  for (let i = 0; i < EXPIRE_BATCHES && !deps.stopped(); i++) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const rows = deps.repo.parkedBefore(before, EXPIRE_BATCH);
    for (const r of deps.repo.remove(rows)) {
      out.windows++;
      out.bytesByDevice.set(r.deviceId, (out.bytesByDevice.get(r.deviceId) ?? 0) + r.bytes);
      const key = `${r.model}@${r.version}`;
      versions.set(key, (versions.get(key) ?? 0) + 1);
    }
    if (rows.length < EXPIRE_BATCH) break;
  }
  if (out.windows > 0) {
    deps.metrics?.inc('edgefleet_ingest_parked_expired_total', {}, out.windows);
    const named = [...versions].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, LOGGED_VERSIONS);
    deps.logger.warn({
      windows: out.windows, devices: out.bytesByDevice.size, bytes: [...out.bytesByDevice.values()].reduce((a, b) => a + b, 0),
      versions: named.map(([v, windows]) => ({ version: v, windows })), versionsCount: versions.size, parkedRetentionDays: retentionDays, parkedBefore: before.toISOString(),
    }, 'deleted parked telemetry windows older than parkedRetentionDays: their model versions were never pushed to the registry');
  }
  return out;
}
