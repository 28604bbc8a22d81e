// Sorts a device's windows and events into the plausible (stored, summed) and the refused (acked so
// an honest outbox never jams, counted, logged once per device and interval, never stored). Per
// device it caches what it may report: the versions it was told to run (its deployments) or reported
// installing that the registry holds, the highest seq stored from it, and the bytes stored from it
// (bounded by maxStoredBytesPerDevice: once it is reached further reports are refused as storage_quota).
// The bytes are the database's running count (store/stored-bytes.ts), read again every
// STORED_RELOAD_MS: retention and eviction lower it, and other hubs raise it. See plausibility.ts. Per
// device and version it also keeps the time its windows claim (coverage.ts): a window claiming time again
// past its credit is refused as overlapping_window.
import type { DeviceEvent, SeqWindow } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';
import type { InvalidItem, LoggerPort, MetricsPort } from '../mqtt/ports.js';
import { checkEvent, checkWindow, DEFAULT_INGEST_LIMITS, MAX_VALUES_PER_SEC, type DeviceContext, type IngestLimits, type RefusalReason } from './plausibility.js';
import { claim, neededSec, type Cover } from './coverage.js';
import { VersionReferences } from './references.js';

export interface IngestGuardDeps {
  db: Db;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  limits?: Partial<IngestLimits> | undefined;
  /** How often refusals of one device are logged at most (default 60 s). */
  logEveryMs?: number;
  /**
   * Other hubs write this device's deployments and windows too (several hubs, docs/hub.md "Several hubs"):
   * before refusing a window or event as unassigned_version or seq_jump, its versions and highest seq
   * are read again from the database (once per batch), since this hub's cache may predate another's write.
   */
  reloadOnMiss?: boolean;
  /**
   * A window or event refused as unassigned_version, offered for parking (parked.ts): 'parked' (now) or
   * 'held' (parked before: a resend), so not refused; false: refused.
   */
  park?: ((deviceId: string, item: Parkable, now: Date) => ParkResult) | undefined;
  /** Whether the device's seq is parked (parked.ts): asked only for seqs at or below its highest parked one. */
  parkedHolds?: ((deviceId: string, seq: number) => boolean) | undefined;
}

/** What the guard offers for parking. */
export type Parkable = { kind: 'window'; item: SeqWindow } | { kind: 'event'; item: DeviceEvent };
export type ParkResult = 'parked' | 'held' | false;

export interface Refusals {
  windows: Partial<Record<RefusalReason, number>>;
  events: Partial<Record<RefusalReason, number>>;
  last?: { at: string; kind: 'window' | 'event'; seq: number; reason: RefusalReason };
}

interface DeviceEntry {
  allowed: Set<string> | null;
  maxSeq: number | null;
  /**
   * The highest seq parked from it (parked.ts), read with maxSeq and raised as this hub parks; 0: none. With
   * several hubs read again with storedBytes (every STORED_RELOAD_MS): other hubs park too.
   */
  parkedMax: number;
  /** JSON characters of its stored windows and events: the database's count when read, plus this hub's writes since. */
  storedBytes: number | null;
  /** When storedBytes was read (`now` of the batch). */
  storedReadAt: number;
  refusals: Refusals;
  /** Per `model\nversion` it sent windows of since loaded: where they reach and its credit (coverage.ts); as many as the versions it may report. */
  covers: Map<string, Cover>;
  loggedAt: number;
  unlogged: number;
}

/** Devices whose context is cached; past it the least recently added entries are dropped (and reloaded on use). */
const MAX_CACHED_DEVICES = 100_000;

/** A device's stored bytes are read from the database again after this long (a one-row read). */
export const STORED_RELOAD_MS = 60_000;

export class IngestGuard {
  readonly limits: IngestLimits;
  private readonly devices = new Map<string, DeviceEntry>();
  // Prepared once on first use: a deployment invalidates every targeted device and each reloads its
  // versions, so preparing per call was the largest hub cost of a 10,000-device deployment
  // (docs/performance.md "Ingest and fleet scale").
  private allowedStmt: Statement | null = null;
  private maxSeqStmt: Statement | null = null;
  private coverStmt: Statement | null = null;
  private readonly references: VersionReferences;

  constructor(private readonly deps: IngestGuardDeps) {
    this.limits = { ...DEFAULT_INGEST_LIMITS, ...deps.limits };
    this.references = new VersionReferences(deps.db);
  }

  /** The versions a device may report changed (a deployment, a new state report). */
  invalidate(deviceId: string): void {
    const e = this.devices.get(deviceId);
    if (e) e.allowed = null;
  }

  /** Refusals since the hub started, for GET /devices/{id}. */
  refusals(deviceId: string): Refusals | undefined {
    const r = this.devices.get(deviceId)?.refusals;
    return r && (r.last ? r : undefined);
  }

  /** Counts what the repository wrote for the device (TelemetryRepo.putWindows/putEvents). */
  stored(deviceId: string, bytes: number): void {
    const e = this.devices.get(deviceId);
    if (e && e.storedBytes !== null) e.storedBytes += bytes;
  }

  /**
   * The windows to store. `held` gets the seqs the hub holds parked (a resend, or a seq an agent.db put
   * back from a backup gave again): not stored, acked as `known` like a stored seq (window-writer.ts).
   * Without it parked seqs are not looked for (the sweep storing them: parked.ts).
   */
  windows(deviceId: string, windows: readonly SeqWindow[], now: Date, held?: number[]): SeqWindow[] {
    const covers = this.entry(deviceId).covers;
    const rates = { maxPredictionsPerSec: this.limits.maxPredictionsPerSec, maxValuesPerSec: MAX_VALUES_PER_SEC };
    // Last: the window is otherwise plausible, so its time is charged only when it is stored.
    return this.filter(deviceId, 'window', windows, now, (w, ctx, limits) => checkWindow(w, ctx, limits) ?? (
      claim(this.cover(deviceId, covers, w), Date.parse(w.start), w.lengthSec, neededSec(w, rates), limits.maxOverlapSec) ? null : 'overlapping_window'), held);
  }

  /** The events to store; `held` as for windows(). */
  events(deviceId: string, events: readonly DeviceEvent[], now: Date, held?: number[]): DeviceEvent[] {
    return this.filter(deviceId, 'event', events, now, checkEvent, held);
  }

  /** The highest seq of the device stored or being stored, as this hub last read or saw it; undefined before its first report here. */
  maxSeq(deviceId: string): number | undefined {
    return this.devices.get(deviceId)?.maxSeq ?? undefined;
  }

  private filter<T extends { seq: number }>(
    deviceId: string, kind: 'window' | 'event', items: readonly T[], now: Date,
    check: (item: T, ctx: DeviceContext, limits: IngestLimits) => RefusalReason | null, held: number[] | undefined,
  ): T[] {
    const entry = this.entry(deviceId);
    let allowed = (entry.allowed ??= this.loadAllowed(deviceId));
    const nowMs = now.getTime();
    const ctx: DeviceContext = {
      nowMs,
      maxSeq: (entry.maxSeq ??= this.loadHeld(entry, deviceId, nowMs)),
      allowed: (model, version) => allowed.has(`${model}@${version}`),
      referenceOf: (model, version, sent) => this.references.of(model, version, sent, nowMs),
    };
    let reloaded = !this.deps.reloadOnMiss;
    const checked = (item: T): RefusalReason | null => {
      const reason = check(item, ctx, this.limits);
      if (reloaded || (reason !== 'unassigned_version' && reason !== 'seq_jump')) return reason;
      reloaded = true;
      allowed = entry.allowed = this.loadAllowed(deviceId);
      ctx.maxSeq = Math.max(ctx.maxSeq, this.loadHeld(entry, deviceId, nowMs));
      return check(item, ctx, this.limits);
    };
    const kept: T[] = [];
    // The bound is checked per batch and counted after the write (stored()): it is passed by at most one batch.
    // The bytes read again with the highest seqs (one statement): with several hubs a seq another hub
    // parked since is then held here too (docs/decisions/0111-parked-seqs-of-other-hubs.md).
    if (entry.storedBytes === null || !(nowMs - entry.storedReadAt < STORED_RELOAD_MS && nowMs >= entry.storedReadAt)) {
      ctx.maxSeq = Math.max(ctx.maxSeq, this.loadHeld(entry, deviceId, nowMs));
    }
    const full = (entry.storedBytes ?? 0) >= this.limits.maxStoredBytesPerDevice;
    for (const item of items) {
      // A seq the hub holds parked is held, whatever it carries, as a stored one is (not checked, so no
      // time claimed twice): one comparison for a device with nothing parked.
      if (held && item.seq <= entry.parkedMax && this.deps.parkedHolds?.(deviceId, item.seq)) {
        held.push(item.seq);
        continue;
      }
      const reason = full ? 'storage_quota' : checked(item);
      if (reason === null) {
        kept.push(item);
        if (item.seq > ctx.maxSeq) ctx.maxSeq = item.seq;
        continue;
      }
      const parked = reason === 'unassigned_version' ? this.parks(deviceId, { kind, item } as unknown as Parkable, ctx, now) : false;
      if (parked) {
        if (parked === 'held') held?.push(item.seq);
        else if (item.seq > entry.parkedMax) entry.parkedMax = item.seq;
        if (item.seq > ctx.maxSeq) ctx.maxSeq = item.seq; // held by the hub, like a stored one
        continue;
      }
      this.refuse(deviceId, entry, kind, item.seq, reason, now);
    }
    entry.maxSeq = ctx.maxSeq;
    return kept;
  }

  /** Whether a window or event refused only for its version, plausible otherwise, was parked (parked.ts). */
  private parks(deviceId: string, p: Parkable, ctx: DeviceContext, now: Date): ParkResult {
    if (!this.deps.park) return false;
    const any = { ...ctx, allowed: () => true };
    const plausible = p.kind === 'window' ? checkWindow(p.item, any, this.limits) === null : checkEvent(p.item, any, this.limits) === null;
    return plausible && this.deps.park(deviceId, p, now);
  }

  /**
   * Items of a batch that failed the wire schema (mqtt/salvage.ts): refused as schema_invalid, to be
   * acked by the caller like every refusal. Returns their seqs.
   */
  invalid(deviceId: string, kind: 'window' | 'event', items: readonly InvalidItem[], now: Date): number[] {
    const entry = this.entry(deviceId);
    for (const i of items) this.refuse(deviceId, entry, kind, i.seq, 'schema_invalid', now, i.problem);
    return items.map((i) => i.seq);
  }

  private refuse(deviceId: string, entry: DeviceEntry, kind: 'window' | 'event', seq: number, reason: RefusalReason, now: Date, problem?: string): void {
    const counts = kind === 'window' ? entry.refusals.windows : entry.refusals.events;
    counts[reason] = (counts[reason] ?? 0) + 1;
    entry.refusals.last = { at: now.toISOString(), kind, seq, reason };
    this.deps.metrics?.inc('edgefleet_ingest_refused_total', { kind, reason });
    const every = this.deps.logEveryMs ?? 60_000;
    if (now.getTime() - entry.loggedAt >= every) {
      const what = reason === 'storage_quota' ? 'refused a report: the device has maxStoredBytesPerDevice stored (acked, not stored)'
        : reason === 'schema_invalid' ? 'refused a report that does not match the wire schema (acked, not stored)'
        : reason === 'other_reference' ? 'refused a window binned on another reference than its model version\'s manifest (acked, not stored)'
        : 'refused an implausible report from a device (acked, not stored)';
      this.deps.logger.warn({ deviceId, kind, seq, reason, ...(problem ? { problem } : {}), alsoRefusedSinceLastLog: entry.unlogged }, what);
      entry.loggedAt = now.getTime();
      entry.unlogged = 0;
    } else {
      entry.unlogged++;
    }
  }

  private entry(deviceId: string): DeviceEntry {
    let e = this.devices.get(deviceId);
    if (!e) {
      if (this.devices.size >= MAX_CACHED_DEVICES) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
      e = { allowed: null, maxSeq: null, parkedMax: 0, storedBytes: null, storedReadAt: -Infinity, refusals: { windows: {}, events: {} }, covers: new Map(), loggedAt: -Infinity, unlogged: 0 };
      this.devices.set(deviceId, e);
    }
    return e;
  }

  private loadAllowed(deviceId: string): Set<string> {
    const rows = (this.allowedStmt ??= this.deps.db
      .prepare(
        `SELECT d.model AS name, d.version FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id WHERE dd.device_id = ?
         UNION
         SELECT dm.name, dm.version FROM device_versions_seen dm JOIN model_versions mv ON mv.name = dm.name AND mv.version = dm.version WHERE dm.device_id = ?
         UNION
         SELECT model, version FROM device_shadows WHERE device_id = ?`,
      ))
      .all(deviceId, deviceId, deviceId) as Array<{ name: string; version: string }>;
    return new Set(rows.map((r) => `${r.name}@${r.version}`));
  }

  /**
   * The device's cover of the window's version; first read from its stored window of that version with the
   * highest seq (the latest for an agent, which numbers windows as they close), with the whole credit.
   */
  private cover(deviceId: string, covers: Map<string, Cover>, w: SeqWindow): Cover {
    const key = `${w.model}\n${w.version}`;
    let c = covers.get(key);
    if (!c) {
      const r = (this.coverStmt ??= this.deps.db
        .prepare('SELECT start, length_sec FROM device_windows WHERE device_id = ? AND model = ? AND version = ? ORDER BY seq DESC LIMIT 1'))
        .get(deviceId, w.model, w.version) as { start: string; length_sec: number } | undefined;
      c = { endMs: r ? Date.parse(r.start) + Number(r.length_sec) * 1000 : -Infinity, creditSec: this.limits.maxOverlapSec };
      covers.set(key, c);
    }
    return c;
  }

  /**
   * The highest seq the hub holds from the device: stored, or parked (a restarted hub's acks count parked
   * seqs as the guard that parked them did); sets the entry's parkedMax, and its stored bytes (the running
   * count of store/stored-bytes.ts) read at `nowMs`. Four probes of primary keys.
   */
  private loadHeld(entry: DeviceEntry, deviceId: string, nowMs: number): number {
    const r = (this.maxSeqStmt ??= this.deps.db.prepare(
      `SELECT (SELECT MAX(seq) FROM device_windows WHERE device_id = ?) AS w, (SELECT MAX(seq) FROM device_events WHERE device_id = ?) AS e,
       (SELECT MAX(seq) FROM parked_windows WHERE device_id = ?) AS p, (SELECT bytes FROM device_stored WHERE device_id = ?) AS s`,
    )).get(deviceId, deviceId, deviceId, deviceId) as { w: number | null; e: number | null; p: number | null; s: number | null };
    entry.storedBytes = Math.max(0, Number(r.s ?? 0));
    entry.storedReadAt = nowMs;
    const parked = Number(r.p ?? 0);
    entry.parkedMax = Math.max(entry.parkedMax, parked);
    return Math.max(Number(r.w ?? 0), Number(r.e ?? 0), parked);
  }
}
