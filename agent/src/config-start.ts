// The configuration the agent runs with, decided once for the daemon (main.ts) and for every command
// that loads the config (cli/common.ts: install, activate and rollback test-load models with it): the
// local config (file < environment < flags, config-merge.ts) with the stored remote settings over it
// (config-remote.ts), as docs/agent.md "Remote configuration" says:
// - stored settings the schema refuses over this local config are ignored (the local config alone);
// - settings not yet run with that KILLED_STARTS_ALLOWED starts never got past are taken as failed: the
//   one kept before them (remote-config.prev.json), or the local config alone.
// Read only: the daemon records what was decided (counts the start, fails the settings; main.ts), a
// command never does. zod-free: the daemon's start checks with config-fast.ts and loads the schema
// (config.ts) only when that check declines.
import { AppError, settingAt, withDeadline } from '@edgefleet/shared/core';
import type { AgentConfig } from './config.js';
import { fastConfig } from './config-fast.js';
import { KILLED_STARTS_ALLOWED, readPreviousRemoteConfig, readRemoteConfig, unendedStarts, withRemote, type StoredRemoteConfig } from './config-remote.js';

/** The merged sources checked against the schema (config.ts validateConfig, or the quick check before it). */
export type ValidateConfig = (merged: Record<string, unknown>) => AgentConfig;

export interface StartConfig {
  /** The local config: file, environment and flags, not validated (config-merge.ts). */
  local: Record<string, unknown>;
  /** What the agent runs with. */
  config: AgentConfig;
  /** The stored remote settings `config` has over the local one; undefined: the local config alone. */
  remote: StoredRemoteConfig | undefined;
  /** Stored settings not yet run with that starts were killed with too often: the daemon takes them as failed. */
  killed: { remote: StoredRemoteConfig; message: string } | undefined;
  /** What was ignored and why (the daemon logs them, a command prints them). */
  problems: string[];
}

/** Thrown by the daemon's quick validation when the schema must decide: loaded, then resolved again. */
class SchemaNeeded extends Error {}

/** The configuration to run with, from the local config and what the data dir holds (see the top of this file). */
export function resolveStartConfig(local: Record<string, unknown>, validate: ValidateConfig): StartConfig {
  const problems: string[] = [];
  // A dataDir that is not a string is refused by the schema below, naming it.
  const dataDir = typeof local.dataDir === 'string' ? local.dataDir : undefined;
  let remote = dataDir === undefined ? undefined : readRemoteConfig(dataDir, (msg) => problems.push(msg));
  let killed: StartConfig['killed'];
  let config: AgentConfig;
  try {
    config = validate(withRemote(local, remote));
  } catch (err) {
    if (!remote || err instanceof SchemaNeeded) throw err;
    // Only a local config changed since could make stored settings fail: start on the local one alone.
    problems.push(`the stored remote configuration ${remote.sha256.slice(0, 12)}… is ignored: ${(err as Error).message}`);
    remote = undefined;
    config = validate(local);
  }
  if (remote && !remote.confirmed) {
    // Earlier starts with it that never ended: the process was killed or crashed while starting with it.
    const starts = unendedStarts(config.dataDir, remote);
    if (starts >= KILLED_STARTS_ALLOWED) {
      const message = `the agent was killed or crashed ${starts} times while starting with it (a native crash, the OOM killer)`;
      killed = { remote, message };
      problems.push(`the remote configuration ${remote.sha256.slice(0, 12)}… is taken as failed: ${message}; starting with the one before`);
      remote = readPreviousRemoteConfig(config.dataDir);
      try {
        config = validate(withRemote(local, remote));
      } catch (err) {
        if (err instanceof SchemaNeeded) throw err;
        remote = undefined;
        config = validate(local);
      }
    }
  }
  return { local, config, remote, killed, problems };
}

/**
 * resolveStartConfig for the daemon: the quick check (config-fast.ts) first; the schema, and zod
 * (~15 MB of RSS), are loaded only when it declines one of the configurations tried.
 */
export async function startConfig(local: Record<string, unknown>): Promise<StartConfig> {
  let schema: ValidateConfig | undefined;
  const validate: ValidateConfig = (m) => {
    const quick = fastConfig(m);
    if (quick) return quick;
    if (!schema) throw new SchemaNeeded();
    return schema(m);
  };
  try {
    return resolveStartConfig(local, validate);
  } catch (err) {
    if (!(err instanceof SchemaNeeded)) throw err;
    schema = (await import('./config.js')).validateConfig;
    return resolveStartConfig(local, validate);
  }
}

/** What the daemon's start-up check reads of a started agent (agent.ts). */
export interface StartedModels {
  /** Names of the models the store has an active version of. */
  active(): string[];
  /** Whether the runtime serves a version of `name`. */
  served(name: string): boolean;
  /** The newest load error recorded for `name` (the `error` event loadActive adds), if any. */
  lastError(name: string): { code: string; message: string } | undefined;
  /** Loads `name`'s active version (or `version`) with `runtime` settings in a runtime of its own and releases it: undefined when it loads, else why not. */
  loadsWith(name: string, runtime: AgentConfig['runtime'], version?: string): Promise<AppError | undefined>;
  /** The active version `name` had before this start fell back to its previous one (load-active.ts), if it did. */
  fellBackFrom(name: string): string | undefined;
  /** Makes that version active again: the start failed, blaming the settings for the fallback. */
  undoFallback(name: string): void;
}

/** Time for trying, one at a time and each once, the models that did not load with new runtime settings with the ones before. */
export const TRIAL_LOAD_MS = 30_000;

/** The `runtime.*` settings (session options, backend, batching) whose value over `local` differs between two stored configurations. */
function runtimeChanges(local: Record<string, unknown>, a: StoredRemoteConfig, b: StoredRemoteConfig | undefined): string[] {
  const keys = new Set([...Object.keys(a.settings), ...Object.keys(b?.settings ?? {})].filter((k) => k.startsWith('runtime.')));
  const [na, nb] = [withRemote(local, a), withRemote(local, b)];
  return [...keys].filter((k) => JSON.stringify(settingAt(na, k)) !== JSON.stringify(settingAt(nb, k))).sort();
}

/** What trying the models not served with the settings before found (see triedBefore). */
interface Trial { loads: string | undefined; failsBoth: Array<{ name: string; err: AppError }>; untried: string[] }

/**
 * Tries `missing` with `runtime` (the settings before), one at a time and each once, within `ms` for all:
 * stops at the first that loads (the new settings broke it) or when time is up (the rest untried).
 */
async function triedBefore(models: StartedModels, missing: string[], runtime: AgentConfig['runtime'], ms: number): Promise<Trial> {
  const failsBoth: Trial['failsBoth'] = [];
  const end = Date.now() + ms;
  for (const [i, name] of missing.entries()) {
    let err: AppError | undefined;
    try {
      err = await withDeadline(models.loadsWith(name, runtime, models.fellBackFrom(name)), Math.max(end - Date.now(), 0), `loading ${name} with the runtime settings before`);
    } catch {
      return { loads: undefined, failsBoth, untried: missing.slice(i) };
    }
    if (!err) return { loads: name, failsBoth, untried: [] };
    failsBoth.push({ name, err });
  }
  return { loads: undefined, failsBoth, untried: [] };
}

/**
 * A start with remote settings not yet run with (`remote`, over `before`: the ones the agent ran with, or
 * none) that changed a `runtime.*` value over the local config, after which an active model is not served
 * (or served by its previous version, the active one failing: docs/decisions/0120-runtime-settings-models-must-load.md
 * addendum 2, whose fallback is undone when the settings are blamed):
 * each such model is tried once with the settings before (triedBefore, TRIAL_LOAD_MS for all). One that
 * loads with them was broken by the new settings, so the start is failed (MODEL_LOAD_FAILED naming the
 * models and why) and main.ts goes back to the settings before, as for any start that fails. Models that
 * do not load with the settings before either are their own failure, not the settings' (`warn` says so;
 * undefined). Models not tried in time are blamed on the settings, as before the trial (docs/agent.md
 * "Remote configuration", docs/decisions/0120-runtime-settings-models-must-load.md).
 */
export async function modelsNotLoadedWith(local: Record<string, unknown>, remote: StoredRemoteConfig, before: StoredRemoteConfig | undefined, models: StartedModels,
  o: { ms?: number; warn?: (msg: string) => void } = {}): Promise<AppError | undefined> {
  const changed = remote.confirmed ? [] : runtimeChanges(local, remote, before);
  if (changed.length === 0) return undefined;
  const active = models.active();
  // A model served by its previous version because the active one did not load is missing too (second addendum).
  const missing = active.filter((name) => !models.served(name) || models.fellBackFrom(name) !== undefined);
  if (missing.length === 0) return undefined;
  const previous = (withRemote(local, before).runtime ?? {}) as AgentConfig['runtime'];
  const trial = await triedBefore(models, missing, previous, o.ms ?? TRIAL_LOAD_MS);
  const either = trial.failsBoth.map(({ name, err }) => `${name} does not load with the runtime settings before either (${err.code}: ${err.message})`);
  if (trial.loads === undefined && trial.untried.length === 0) {
    o.warn?.(`not blamed on ${changed.join(', ')}: ${either.join('; ')}`.slice(0, 1900));
    return undefined;
  }
  const blamed = missing.filter((name) => !trial.failsBoth.some((f) => f.name === name));
  const why = blamed.map((name) => {
    const e = models.lastError(name);
    if (!e) return `${name} is not served`;
    return e.code === 'MODEL_LOAD_FAILED' ? e.message : `${e.code}: ${e.message}`;
  });
  for (const name of blamed) models.undoFallback(name);
  const found = trial.loads !== undefined ? `${trial.loads} loads with the runtime settings before` : `${trial.untried.join(', ')} not tried with the runtime settings before within ${(o.ms ?? TRIAL_LOAD_MS) / 1000} s`;
  return new AppError('MODEL_LOAD_FAILED', `${blamed.length} of ${active.length} active models did not load with ${changed.join(', ')} changed: ${[...why, found, ...either].join('; ')}`.slice(0, 1900),
    { details: { models: blamed, settings: changed } });
}
