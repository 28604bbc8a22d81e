// Alert rule evaluation (docs/drift.md "Alerts"): each rule's metric is computed from rollups (or the
// devices table) for each key (a model version, or the fleet); a breach (value >= threshold) starts a
// pending alert that fires after forSec, stays one alert while breached (deduplicated: one open alert
// per rule and key), and resolves once the breach has been over keepFiringForSec (hold.ts). Firing and
// resolving queue the rule's webhook deliveries; a retrain action gets the drift report stored at firing.
// Every computation (readings, the drift report) runs before the write transaction of a step, which
// only re-reads the alert, decides again and writes (decision 0060): a slow drift computation never
// holds the database's write lock.
import { LOWER_IS_WORSE, MIN_ACCURACY_LABELS, diskShare, nextRun, parseCron, type Alert, type AlertRuleCreate, type DriftResponse } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { mergeRollups, planRanges } from '../rollups/query.js';
import { FleetAnalytics } from '../drift/service.js';
import { boundDevices } from '../drift/report-devices.js';
import { boundedSummary } from '../drift/device-share.js';
import type { AlertsRepo } from './repo.js';
import type { StoredRule } from './rules.js';
import { requestRetrain, retrainReport } from './retrain.js';
import { decide, gapToleranceMs, type Hold } from './hold.js';

/** A metric's current value for one key, null when there is nothing to judge (no data, too few predictions). */
export interface Reading {
  key: string;
  value: number | null;
}

/** The rollout_failed hook: failed rollouts of a model (or all) now; null until rollouts exist. */
export type RolloutFailedFn = (rule: AlertRuleCreate) => number | null;

/** Where drift comes from (FleetAnalytics); a test wraps it to see when and how it is computed. */
export type DriftSource = Pick<FleetAnalytics, 'drift'>;

export interface EvaluatorDeps {
  store: Store;
  repo: AlertsRepo;
  clock: Clock;
  logger: LoggerPort;
  rolloutFailed?: RolloutFailedFn | undefined;
  /** The longest gap between two evaluations of an alert that still counts toward its hold times (hold.ts; default for evaluations every 60 s). */
  maxGapMs?: number | undefined;
  /**
   * Until when (ms) device presence is not known yet: `devices_offline` rules are not read before it
   * (their alerts stay as they are). Null or absent: known.
   */
  presenceUnknownUntil?: (() => number | null) | undefined;
  analytics?: DriftSource | undefined;
}

/** Latency past the last bucket (~70 s) reads as Infinity: stored and compared as this. */
const LATENCY_CAP_MS = 1e9;

export class AlertEvaluator {
  private readonly analytics: DriftSource;
  /** Schedule rules: when each was last evaluated (ms), so a cron minute passed since is run once. */
  private readonly scheduleSeen = new Map<number, number>();

  constructor(private readonly deps: EvaluatorDeps) {
    this.analytics = deps.analytics ?? new FleetAnalytics(deps.store.db, deps.store.rollups);
  }

  /** Devices (not revoked) with every tag of the scope; undefined when the rule has no scope. */
  private scopeDevices(rule: AlertRuleCreate): string[] | undefined {
    const tags = rule.scope?.tags;
    if (!tags || Object.keys(tags).length === 0) return undefined;
    return this.deps.store.devices.list().filter((d) => !d.revoked && Object.entries(tags).every(([k, v]) => d.tags[k] === v)).map((d) => d.id);
  }

  /** `reconnecting`: devices may still be reconnecting to a hub that started; those seen before do not count as offline. */
  readings(rule: AlertRuleCreate, now: Date, reconnecting = false): Reading[] {
    const { store } = this.deps;
    if (rule.metric === 'devices_offline') {
      const devices = this.scopeDevices(rule);
      const all = store.devices.list().filter((d) => !d.revoked && (!devices || devices.includes(d.id)));
      return [{ key: 'fleet', value: all.filter((d) => !d.online && !(reconnecting && d.lastSeen !== null)).length }];
    }
    if (rule.metric === 'disk_free') {
      // One reading per device (key: its id) under the threshold, from its last reported state. A device
      // not read (room again, revoked, out of scope) needs none: its open alert resolves below.
      const scope = this.scopeDevices(rule);
      const within = scope ? new Set(scope) : undefined;
      return store.devices.list().flatMap((d) => {
        const disk = d.reported?.disk;
        if (d.revoked || !disk || (within && !within.has(d.id))) return [];
        const share = diskShare(disk); // an empty filesystem reads as free: never under a threshold
        return share < rule.threshold ? [{ key: d.id, value: share }] : [];
      });
    }
    if (rule.metric === 'rollout_failed') return [{ key: rule.model ?? 'fleet', value: this.deps.rolloutFailed?.(rule) ?? null }];
    if (rule.metric === 'schedule') return []; // no value: it sends retrain requests on its schedule (scheduled())
    if (!rule.model) return [];
    const versions = rule.version ? [rule.version] : store.rollups.allSeries().filter((s) => s.model === rule.model).map((s) => s.version);
    const devices = this.scopeDevices(rule);
    const since = new Date(now.getTime() - rule.windowSec * 1000);
    return versions.map((version): Reading => {
      const key = `${rule.model}@${version}`;
      if (devices && devices.length === 0) return { key, value: null };
      const q = { model: rule.model as string, version, since, until: now, ...(devices ? { devices } : {}) };
      if (rule.metric === 'drift.psi') {
        const d = this.analytics.drift(q.model, version, { since: since.toISOString(), until: now.toISOString(), timeline: false, worst: false, ...(devices ? { devices } : {}) }, now, this.thresholds(q.model));
        const psis = (d.groups[0] ? [...d.groups[0].features, ...d.groups[0].outputs] : []).flatMap((f) => (f.psi === null ? [] : [f.psi]));
        return { key, value: psis.length ? Math.max(...psis) : null };
      }
      // A device over its share of the scope's predictions, requests or output values is left out (decision 0139).
      const m = boundedSummary(store.rollups, store.rollups.requireSeries(q.model, version), planRanges(since, now, store.rollups.horizon()), devices).summary;
      if (rule.metric === 'model_error_rate') return { key, value: m.modelErrorRate };
      if (rule.metric === 'invalid_input_rate') return { key, value: m.invalidInputRate };
      if (rule.metric === 'accuracy') return { key, value: m.accuracy.labelled >= MIN_ACCURACY_LABELS ? m.accuracy.observed : null };
      const p95 = m.answeredLatency.p95;
      return { key, value: p95 === null ? null : Math.min(p95, LATENCY_CAP_MS) };
    });
  }

  /**
   * A schedule rule: when a minute of its cron expression (UTC) passed since the last evaluation, a
   * retrain request per version (the rule's, or each that made predictions in its window) with the
   * drift report over the window. The first evaluation after a start only remembers the time: runs
   * missed while the hub was down are not made up (docs/drift.md "Retraining").
   */
  private scheduled(rule: StoredRule, now: Date): void {
    const { store } = this.deps;
    const last = this.scheduleSeen.get(rule.id);
    this.scheduleSeen.set(rule.id, now.getTime());
    if (last === undefined || !rule.schedule || !rule.model) return;
    const due = nextRun(parseCron(rule.schedule), last);
    if (due === null || due > now.getTime()) return;
    const model = rule.model;
    const since = new Date(now.getTime() - rule.windowSec * 1000);
    const versions = rule.version
      ? [rule.version]
      : store.rollups.allSeries().filter((s) => s.model === model && mergeRollups(store.rollups, { model, version: s.version, since, until: now }).predictions > 0).map((s) => s.version);
    for (const version of versions) {
      const reason = `schedule "${rule.schedule}" of alert rule "${rule.name}"`;
      const q = { model, version, kind: 'schedule' as const, reason, by: 'alerts', since, until: now, at: now };
      const report = retrainReport(store, q); // before the write transaction
      store.db.transaction(() => {
        const r = requestRetrain(store, [rule], q, report);
        store.audit.append({ actor: 'alerts', actorId: null, action: 'retrain.request', target: `${model}@${version}`, reason, details: r, at: now });
      })();
    }
  }

  /**
   * Forgets when the schedule rules were last evaluated: the alerts part calls it when it starts (again),
   * so its first pass only remembers the time. A hub that takes the hub lease back would otherwise send
   * the runs that passed while it did not hold it, which the holder meanwhile sent (or which were missed
   * while no hub ran: not made up either).
   */
  forgetSchedules(): void {
    this.scheduleSeen.clear();
  }

  private thresholds(model: string) {
    const t = this.deps.store.drift.thresholds(model);
    return { psi: t.psi, js: t.js, minPredictions: t.minPredictions };
  }

  /** Evaluates every rule once; returns the alerts that changed state (fired or resolved). */
  evaluateOnce(): Alert[] {
    const { repo, clock, logger } = this.deps;
    const changed: Alert[] = [];
    const rules = repo.rules();
    for (const id of this.scheduleSeen.keys()) if (!rules.some((r) => r.id === id)) this.scheduleSeen.delete(id);
    for (const rule of rules) {
      const now = clock.now();
      if (rule.metric === 'schedule') {
        try {
          this.scheduled(rule, now);
        } catch (err) {
          logger.warn({ rule: rule.id, err: (err as Error).message }, 'scheduled retrain request failed');
        }
        continue;
      }
      // Just after a start the devices have not reconnected yet: a pass now would page "devices offline"
      // for the whole fleet and resolve it seconds later. Until they had time to, an open alert of the
      // rule stays as it is and only devices never seen count (docs/drift.md "Alerts").
      const unknownUntil = this.deps.presenceUnknownUntil?.() ?? null;
      const reconnecting = rule.metric === 'devices_offline' && unknownUntil !== null && now.getTime() < unknownUntil;
      if (reconnecting && repo.openFor(rule.id).length > 0) continue;
      let readings: Reading[];
      try {
        readings = this.readings(rule, now, reconnecting);
      } catch (err) {
        logger.warn({ rule: rule.id, err: (err as Error).message }, 'alert rule could not be evaluated');
        continue;
      }
      const seen = new Set<string>();
      for (const r of readings) {
        seen.add(r.key);
        const a = this.step(rule, r, now);
        if (a) changed.push(a);
      }
      // A key that no longer reads (a version without data in the window) is no longer breached.
      for (const open of repo.openFor(rule.id)) {
        if (seen.has(open.key)) continue;
        const a = this.step(rule, { key: open.key, value: null }, now);
        if (a) changed.push(a);
      }
    }
    return changed;
  }

  /**
   * One evaluation of a rule's key: decides from the stored alert, computes what firing needs (the
   * drift report) outside any transaction, then in a short write transaction reads the alert again,
   * decides again and writes; returns the alert when it fired or resolved. Should the second decision
   * want a report the first did not (another hub changed the alert meanwhile), nothing is written:
   * the next evaluation decides afresh.
   */
  private step(rule: StoredRule, r: Reading, now: Date): Alert | null {
    const { repo, store, logger } = this.deps;
    const breached = r.value !== null && (LOWER_IS_WORSE.includes(rule.metric) ? r.value < rule.threshold : r.value >= rule.threshold);
    const hold: Hold = { forSec: rule.forSec, keepFiringForSec: rule.keepFiringForSec ?? 0, maxGapMs: this.deps.maxGapMs ?? gapToleranceMs(60_000) };
    const fires = (s: ReturnType<typeof decide>) => s.kind === 'fire' || (s.kind === 'start' && s.fire);
    const wantsReport = (rule.metric === 'drift.psi' || rule.metric === 'accuracy') && rule.model !== undefined;
    const report = wantsReport && fires(decide(repo.open(rule.id, r.key), breached, now, hold)) ? this.report(rule, r.key, now) : undefined;
    return store.db.transaction((): Alert | null => {
      if (!repo.isLive(rule.id)) return null; // removed meanwhile (its alerts resolved with it)
      let open = repo.open(rule.id, r.key);
      const s = decide(open, breached, now, hold);
      if (fires(s) && wantsReport && report === undefined) {
        logger.info({ rule: rule.id, key: r.key }, 'alert state changed during its evaluation: decided again at the next one');
        return null;
      }
      switch (s.kind) {
        case 'none':
          return null;
        case 'drop':
          if (open) repo.drop(open.id);
          return null;
        case 'update':
          if (open) repo.update(open.id, { value: r.value, at: now, ...(s.startedAt ? { startedAt: s.startedAt } : {}), ...(s.clearSince !== undefined ? { clearSince: s.clearSince } : {}) });
          return null;
        case 'resolve': {
          if (!open) return null;
          const resolved = repo.update(open.id, { state: 'resolved', value: r.value, at: now });
          this.queue(rule, resolved, 'resolved', now);
          return resolved;
        }
        case 'start':
          open = repo.start(rule.id, r.key, r.value as number, now);
          if (!s.fire) return null;
          break;
        case 'fire':
          break;
      }
      if (!open) return null;
      // The drift behind a drift or accuracy alert, stored for the operator and a retrain action.
      const reportId = report ? store.drift.addReport(report, { actor: 'alerts', note: `alert rule "${rule.name}" fired`, at: now }) : undefined;
      const fired = repo.update(open.id, { state: 'firing', value: r.value, at: now, ...(reportId !== undefined ? { reportId } : {}) });
      this.queue(rule, fired, 'firing', now);
      return fired;
    })();
  }

  /**
   * The drift behind a firing drift or accuracy alert, by device (what a retrain webhook carries), of the
   * devices the rule's scope reads (the whole fleet without one), at most MAX_REPORT_DEVICES of them;
   * computed, not stored.
   */
  private report(rule: StoredRule, key: string, now: Date): DriftResponse {
    const model = rule.model as string; // drift.psi and accuracy rules name one (routes-alerts.ts)
    const version = key.slice(key.lastIndexOf('@') + 1);
    const since = new Date(now.getTime() - rule.windowSec * 1000).toISOString();
    const devices = this.scopeDevices(rule);
    return boundDevices(this.analytics.drift(model, version, { since, until: now.toISOString(), by: 'device', timeline: true, ...(devices ? { devices } : {}) }, now, this.thresholds(model)));
  }

  private queue(rule: StoredRule, alert: Alert, event: 'firing' | 'resolved', now: Date): void {
    this.deps.repo.queue(rule, alert, event, now, (id) => this.deps.store.drift.report(id).report);
  }
}
