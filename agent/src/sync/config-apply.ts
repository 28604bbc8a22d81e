// Applies the remote configuration of a desired document (docs/agent.md "Remote configuration"): the
// hub's layered settings are laid over the box's local config and checked with the agent's schema as a
// whole; settings the running parts take live are handed to them, and when a setting that needs a
// restart changed, the new configuration is stored and the agent restarts cleanly (main.ts exits with
// RESTART_EXIT_CODE; the systemd unit brings it back, and it starts with the stored settings). A
// configuration the agent cannot apply is reported with the reason, and the last good one stays.
import {
  AppError, REMOTE_SETTINGS, assertRemoteKey, overlaySettings, settingAt, settingsHash, toAppError,
  type DesiredConfig, type ReportedConfig, type SettingApply,
} from '@edgefleet/shared';
import type { AgentConfig } from '../config.js';
import type { FailedRemoteConfig, RefusedRemoteConfig, StoredRemoteConfig } from '../config-remote.js';
import type { OutboxOptions } from './outbox.js';

/** The running parts that take settings live. */
export interface LiveSettings {
  windowSec(sec: number): void;
  checkpointSec(sec: number): void;
  budgetBytes(bytes: number): void;
  outbox(o: OutboxOptions): void;
  concurrency(perModel: number, queue: number): void;
  logLevel(level: string): void;
}

export interface ConfigApplierDeps {
  /** The merged local config (file, environment, flags), before any remote settings. */
  local: Record<string, unknown>;
  /** The config the agent runs with, and the stored remote settings in it. */
  current: AgentConfig;
  stored: StoredRemoteConfig | undefined;
  /** A configuration the agent could not start with (config-remote.ts failRemoteConfig): reported, not applied again. */
  failed?: FailedRemoteConfig | undefined;
  /** The agent's schema (config.ts validateConfig): CONFIG_INVALID naming the field. */
  validate: (merged: Record<string, unknown>) => AgentConfig;
  store: (c: StoredRemoteConfig) => void;
  /** The last configuration refused, kept for `status` (config-remote.ts writeRefusedRemoteConfig), and whether one is kept now. */
  refused?: ((r: RefusedRemoteConfig | null) => void) | undefined;
  refusedBefore?: boolean | undefined;
  live: LiveSettings;
  /** Stops the agent cleanly for a restart; undefined: nobody restarts it (an in-process agent), it waits. */
  restart: (() => void) | undefined;
  /** A restart asked for is not needed any more: a newer configuration put back the running values. */
  withdrawRestart?: (() => void) | undefined;
  /** The reported state changed. */
  changed: () => void;
  log: (level: 'info' | 'warn', obj: object, msg: string) => void;
  now: () => Date;
}

/** Settings whose value differs between two configs, with how each is applied. */
export function changedSettings(a: AgentConfig, b: AgentConfig): Array<{ key: string; apply: SettingApply }> {
  return Object.entries(REMOTE_SETTINGS)
    .filter(([key]) => JSON.stringify(settingAt(a, key)) !== JSON.stringify(settingAt(b, key)))
    .map(([key, apply]) => ({ key, apply }));
}

/** The setting an error names: {field} (assertRemoteKey), or the first issue's path (the schema's issues). */
function fieldOf(details: unknown): string | undefined {
  if (Array.isArray(details)) {
    const path = (details[0] as { path?: unknown } | undefined)?.path;
    return Array.isArray(path) && path.length ? path.join('.') : undefined;
  }
  const f = (details as { field?: unknown } | undefined)?.field;
  return typeof f === 'string' ? f : undefined;
}

export class ConfigApplier {
  private current: AgentConfig;
  private stored: StoredRemoteConfig | undefined;
  private state: ReportedConfig | undefined;
  /** A refusal is kept for `status`: cleared when a later configuration is applied. */
  private refusalKept: boolean;

  constructor(private readonly d: ConfigApplierDeps) {
    this.refusalKept = d.refusedBefore === true;
    this.current = d.current;
    this.stored = d.stored;
    if (d.stored) this.state = { sha256: d.stored.sha256, sources: d.stored.sources, status: 'applied', at: d.stored.at || d.now().toISOString() };
    if (d.failed && d.failed.sha256 !== d.stored?.sha256) {
      this.state = {
        sha256: d.stored?.sha256 ?? null, sources: d.stored?.sources ?? [], status: 'failed', at: d.now().toISOString(),
        error: { sha256: d.failed.sha256, code: d.failed.code, message: d.failed.message.slice(0, 2000) },
      };
    }
  }

  /** What the reported state says about configuration (undefined: no remote configuration yet). */
  report(): ReportedConfig | undefined {
    return this.state;
  }

  /** The config the agent runs with now (live changes included). */
  get config(): AgentConfig {
    return this.current;
  }

  /** Applies a desired document's configuration; absent: the hub manages none, nothing changes. Never throws. */
  apply(desired: DesiredConfig | undefined): void {
    if (!desired) return;
    if (desired.sha256 === this.stored?.sha256 && this.state?.status !== 'restarting') {
      // The hub went back to the configuration the box runs: a refusal of another one is over.
      if (this.refusalKept) this.applied({ sha256: desired.sha256, sources: desired.sources, status: 'applied', at: this.d.now().toISOString() });
      return;
    }
    if (this.state?.error?.sha256 === desired.sha256) return; // refused already: reported once
    if (!this.stored && Object.keys(desired.settings).length === 0 && settingsHash({}) === desired.sha256) {
      // Nothing reaches this box: its local config is in effect, as the hub wants.
      if (this.state?.sha256 !== desired.sha256 || this.refusalKept) this.applied({ sha256: desired.sha256, sources: desired.sources, status: 'applied', at: this.d.now().toISOString() });
      return;
    }
    try {
      if (settingsHash(desired.settings) !== desired.sha256) {
        throw new AppError('HASH_MISMATCH', `remote configuration: its settings hash to ${settingsHash(desired.settings).slice(0, 12)}…, the document says ${desired.sha256.slice(0, 12)}…`);
      }
      // The hub refuses these already; the box refuses them too (a hub is not trusted with the box's own settings).
      for (const key of Object.keys(desired.settings)) assertRemoteKey(key);
      const next = this.d.validate(overlaySettings(this.d.local, desired.settings));
      const changes = changedSettings(this.current, next);
      const restartKeys = changes.filter((c) => c.apply === 'restart').map((c) => c.key);
      // Live settings run from now on: confirmed. After a restart, main.ts confirms once the agent started.
      const record: StoredRemoteConfig = { sha256: desired.sha256, sources: desired.sources, settings: desired.settings, at: this.d.now().toISOString(), confirmed: restartKeys.length === 0 };
      // Stored first: when it cannot be (disk full, permission denied) nothing runs with the new values, so
      // the running parts, the file the next start reads and the reported `failed` agree on the old ones.
      this.d.store(record);
      this.stored = record;
      this.keepRefusal(null);
      if (restartKeys.length === 0) this.applyLive(next, changes.map((c) => c.key));
      if (restartKeys.length) {
        this.state = { sha256: desired.sha256, sources: desired.sources, status: 'restarting', at: record.at };
        this.d.log('info', { sha256: desired.sha256, restart: restartKeys }, 'remote configuration stored; these settings need a restart');
        this.d.changed();
        if (this.d.restart) this.d.restart();
        return;
      }
      // A restart asked for by an earlier document is not needed now: what runs is what is stored.
      if (this.state?.status === 'restarting') this.d.withdrawRestart?.();
      this.current = next;
      this.state = { sha256: desired.sha256, sources: desired.sources, status: 'applied', at: record.at };
      this.d.log('info', { sha256: desired.sha256, changed: changes.map((c) => c.key) }, 'remote configuration applied without a restart');
    } catch (err) {
      const e = toAppError(err);
      const field = fieldOf(e.details);
      this.state = {
        sha256: this.stored?.sha256 ?? null, sources: this.stored?.sources ?? [], status: 'failed', at: this.d.now().toISOString(),
        error: { sha256: desired.sha256, code: e.code, message: e.message.slice(0, 2000), ...(field ? { field } : {}) },
      };
      this.d.log('warn', { sha256: desired.sha256, code: e.code, err: e.message }, 'remote configuration refused; keeping the last good one');
      this.keepRefusal({ sha256: desired.sha256, sources: desired.sources, code: e.code, message: e.message.slice(0, 2000), ...(field ? { field } : {}), at: this.state.at });
    }
    this.d.changed();
  }

  /** The configuration the hub asks for is in effect without storing anything. */
  private applied(state: ReportedConfig): void {
    this.state = state;
    this.keepRefusal(null);
    this.d.changed();
  }

  /** Keeps the refusal for `status`, or clears it; a write that fails (a full disk) only costs the record. */
  private keepRefusal(r: RefusedRemoteConfig | null): void {
    if (!r && !this.refusalKept) return;
    try {
      this.d.refused?.(r);
      this.refusalKept = r !== null;
    } catch (err) {
      this.d.log('warn', { err: (err as Error).message }, 'the remote configuration refusal could not be recorded for status');
    }
  }

  private applyLive(next: AgentConfig, keys: readonly string[]): void {
    const live = this.d.live;
    const has = (prefix: string) => keys.some((k) => k.startsWith(prefix));
    if (keys.includes('summaries.windowSec')) live.windowSec(next.summaries.windowSec);
    if (keys.includes('summaries.checkpointSec')) live.checkpointSec(next.summaries.checkpointSec);
    if (keys.includes('summaries.budgetBytes')) live.budgetBytes(next.summaries.budgetBytes);
    if (has('sync.outbox.')) live.outbox(next.sync.outbox);
    if (has('concurrency.')) live.concurrency(next.concurrency.perModel, next.concurrency.queue);
    if (keys.includes('log.level')) live.logLevel(next.log.level);
  }
}
