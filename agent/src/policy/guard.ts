// Local policy enforcement on every box, enrolled or standalone (docs/agent.md "Policy and local
// rollback"): after the serving runtime switches forward to a version, that version is watched against
// its manifest policy for the observation window; on a breach the box rolls back to the previous
// version and records why as events. An enrolled box's events reach the hub through the outbox, and a
// listener (the sync updater) blocks the version for the current desired document.
import type { Logger } from '../log.js';
import { toAppError } from '@edgefleet/shared/core';
import type { EventKind } from '@edgefleet/shared';
import type { ModelManager, Switched } from '../install/manager.js';
import type { PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { ModelsRepo } from '../store/models-repo.js';
import { PolicyWatcher, type Breach } from './watcher.js';

export type { Breach } from './watcher.js';

export type PolicyEmit = (e: { kind: EventKind; model?: string; version?: string; code?: string; message: string; data?: Record<string, unknown> }) => void;

/** Told about breaches and rollbacks (an enrolled box: block the version, show it in the reported state). */
export interface PolicyListener {
  policyBreached(b: Breach): void;
  policyRolledBack(b: Breach, rolledBack: boolean): void;
}

export interface PolicyGuardDeps {
  models: ModelsRepo;
  events: EventsRepo;
  /** Performs the rollback (the one place that switches versions). */
  manager: Pick<ModelManager, 'rollback'>;
  /** Records an event (local log; on an enrolled box also the outbox). */
  emit: PolicyEmit;
  logger: Logger;
  listener?: PolicyListener | undefined;
  /** Wall clock (ms) for the observation windows; default Date.now. */
  now?: () => number;
  /** How long stop() waits for a rollback under way (default POLICY_STOP_MS). */
  stopTimeoutMs?: number;
}

/**
 * How long stop() waits for a rollback under way by default: inside the agent's step for it (agent.ts
 * STOP_MS.batch), so a rollback stuck (an install lock held, a disk that does not answer) is named by the
 * guard, and its timer ends with the step, not seconds after the agent stopped.
 */
export const POLICY_STOP_MS = 1500;

export class PolicyGuard implements PredictionRecorder {
  private readonly watcher: PolicyWatcher;
  private readonly now: () => number;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly d: PolicyGuardDeps) {
    this.now = d.now ?? Date.now;
    this.watcher = new PolicyWatcher((b) => this.track(this.rollBack(b)), this.now);
  }

  /**
   * Resumes the watch of versions switched to less than a window ago (a restart, or an install by the
   * CLI while the daemon was down), for what remains of their window. Call after the active versions loaded.
   */
  start(): void {
    for (const entry of this.d.models.listActive()) {
      if (!entry.previous) continue;
      const last = this.d.events.lastSwitch(entry.name);
      if (last?.kind !== 'activated' || last.version !== entry.active) continue;
      const v = this.d.models.getVersion(entry.name, entry.active);
      if (!v) continue;
      // At most a whole window: a switch stamped ahead of this clock (a box that booted at 1970 and has
      // no NTP yet, a clock stepped back) would otherwise be watched for the years between.
      const windowMs = v.manifest.policy.observationWindowSec * 1000;
      const left = Math.min(windowMs, Date.parse(entry.updatedAt) + windowMs - this.now());
      if (left > 0) this.watcher.watch(entry.name, entry.active, v.manifest.policy, left);
    }
  }

  /** Stops watching; waits (bounded) for a rollback under way so it finishes before the database closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher.stop();
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.d.logger.warn('a policy rollback did not finish before the stop deadline');
        resolve();
      }, this.d.stopTimeoutMs ?? POLICY_STOP_MS);
    });
    await Promise.race([Promise.allSettled([...this.pending]).then(() => undefined), deadline]);
    clearTimeout(timer);
  }

  /** The version being watched for a model, if any. */
  watching(model: string): string | undefined {
    return this.watcher.watching(model);
  }

  /** The manager's switch hook: a forward switch starts a watch; a rollback ends it. */
  switched(s: Switched): void {
    if (this.stopped) return;
    // Nothing to roll back to, or this is a rollback (ours, the CLI's, or one committed by another process).
    const rollback = s.reason === 'rollback' || (s.reason === 'reconcile' && this.d.events.lastSwitch(s.name)?.kind === 'rolled_back');
    if (!s.previous || rollback) {
      this.watcher.clear(s.name);
      return;
    }
    const v = this.d.models.getVersion(s.name, s.version);
    if (v) this.watcher.watch(s.name, s.version, v.manifest.policy);
  }

  record(model: string, version: string, features: readonly RecordedTensor[], outputs: readonly RecordedTensor[], latencyMs: number, waitMs?: number): void {
    this.watcher.record(model, version, features, outputs, latencyMs, waitMs);
  }

  recordError(model: string, version: string, code: string, latencyMs: number): void {
    this.watcher.recordError(model, version, code, latencyMs);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    p.catch((err: unknown) => this.d.logger.error({ err }, 'policy rollback failed'))
      .finally(() => this.pending.delete(p))
      .catch(() => undefined);
  }

  /** Records the breach with the measured values, then switches back to the previous version. */
  private async rollBack(b: Breach): Promise<void> {
    const { emit, listener } = this.d;
    listener?.policyBreached(b);
    const data = { requests: b.requests, errors: b.errors, invalidInput: b.invalidInput, shed: b.shed, largeRequests: b.large, errorRate: b.errorRate, p95Ms: b.p95Ms, maxErrorRate: b.policy.maxErrorRate, maxP95LatencyMs: b.policy.maxP95LatencyMs };
    emit({ kind: 'policy_breach', model: b.model, version: b.version, code: 'POLICY_BREACH', message: b.reason, data });
    if (this.d.models.getActive(b.model)?.active !== b.version) {
      // Someone switched away meanwhile: there is nothing left to roll back.
      listener?.policyRolledBack(b, false);
      return;
    }
    try {
      const entry = await this.d.manager.rollback(b.model, this.d.models.originOf(b.model) ?? 'local');
      emit({ kind: 'rolled_back', model: b.model, version: b.version, code: 'POLICY_BREACH', message: `rolled back ${b.model} from ${b.version} to ${entry.active}: ${b.reason}`, data });
      this.d.logger.warn({ model: b.model, from: b.version, to: entry.active }, b.reason);
      listener?.policyRolledBack(b, true);
    } catch (err) {
      const e = toAppError(err);
      emit({ kind: 'error', model: b.model, version: b.version, code: e.code, message: `rollback after a policy breach failed: ${e.message}` });
      listener?.policyRolledBack(b, false);
    }
  }
}
