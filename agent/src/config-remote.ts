// The last good remote configuration of this box (docs/agent.md "Remote configuration"): the layered
// settings a hub sent in its desired document, kept in DATA/remote-config.json once applied, and laid
// over the local config (file, environment, flags) at every start, so a restart the configuration asked
// for starts with it and an offline box keeps it. zod-free: it runs on the daemon's start-up path.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { overlaySettings, settingsHash, writeFileAtomic, type RemoteSettings } from '@edgefleet/shared/core';

export interface StoredRemoteConfig {
  sha256: string;
  sources: Array<{ scope: string; version: number }>;
  settings: RemoteSettings;
  /** When it was applied. */
  at: string;
  /** The agent has run with it (applied live, or started with it after a restart). */
  confirmed?: boolean;
}

export const remoteConfigPath = (dataDir: string): string => join(dataDir, 'remote-config.json');
const prevPath = (dataDir: string) => join(dataDir, 'remote-config.prev.json');
const failedPath = (dataDir: string) => join(dataDir, 'remote-config.failed.json');
const attemptPath = (dataDir: string) => join(dataDir, 'remote-config.attempt.json');
const refusedPath = (dataDir: string) => join(dataDir, 'remote-config.refused.json');

/**
 * Starts with an unconfirmed configuration that ended with the process gone (killed, a native crash in
 * onnxruntime, the OOM killer), past which the configuration is taken as failed: an unattended box must
 * not restart into it until its service manager gives up.
 */
export const KILLED_STARTS_ALLOWED = 2;

/** A configuration the agent could not start with: not applied again (docs/agent.md "Remote configuration"). */
export interface FailedRemoteConfig { sha256: string; code: string; message: string }

/** The stored remote configuration, or undefined when none (or the file is not one: then it is ignored and reported by `problem`). */
export function readRemoteConfig(dataDir: string, problem: (msg: string) => void = () => undefined): StoredRemoteConfig | undefined {
  return readStored(remoteConfigPath(dataDir), problem);
}

/** The configuration kept to go back to (remote-config.prev.json), or undefined. */
export function readPreviousRemoteConfig(dataDir: string, problem: (msg: string) => void = () => undefined): StoredRemoteConfig | undefined {
  return readStored(prevPath(dataDir), problem);
}

function readStored(path: string, problem: (msg: string) => void): StoredRemoteConfig | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredRemoteConfig>;
    const settings = v.settings;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new Error('expected "settings" to be an object');
    // The hash is the document's identity: a file edited by hand no longer matches it.
    if (v.sha256 !== settingsHash(settings)) throw new Error('its sha256 does not match its settings');
    return { sha256: v.sha256, sources: Array.isArray(v.sources) ? v.sources : [], settings, at: typeof v.at === 'string' ? v.at : '', confirmed: v.confirmed === true };
  } catch (err) {
    problem(`${path} is ignored: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Stores a new configuration. The one to go back to if the agent cannot start with it is the last one
 * the agent ran with: the stored one when confirmed; when it is not (stored, but the agent has not run
 * with it yet: a document that came while a restart was under way or the agent was starting), the one
 * kept before it stays; with none stored, the local config alone.
 */
export function writeRemoteConfig(dataDir: string, c: StoredRemoteConfig): void {
  const path = remoteConfigPath(dataDir);
  const current = readRemoteConfig(dataDir);
  if (current?.confirmed) writeFileAtomic(prevPath(dataDir), `${JSON.stringify(current, null, 2)}\n`, 0o600);
  else if (!current) rmSync(prevPath(dataDir), { force: true });
  writeFileAtomic(path, `${JSON.stringify(c, null, 2)}\n`, 0o600);
  rmSync(failedPath(dataDir), { force: true });
}

/** The agent started with the stored configuration: a later failure to start is not blamed on it. */
export function confirmRemoteConfig(dataDir: string, c: StoredRemoteConfig): void {
  writeFileAtomic(remoteConfigPath(dataDir), `${JSON.stringify({ ...c, confirmed: true }, null, 2)}\n`, 0o600);
  endRemoteStart(dataDir);
}

/**
 * Counts a start with the unconfirmed configuration `c` (DATA/remote-config.attempt.json) and returns how
 * many earlier starts with it never ended: neither confirmed it, failed it, nor were stopped by a signal.
 */
export function beginRemoteStart(dataDir: string, c: StoredRemoteConfig): number {
  const prior = unendedStarts(dataDir, c);
  writeFileAtomic(attemptPath(dataDir), `${JSON.stringify({ sha256: c.sha256, starts: prior + 1 })}\n`, 0o600);
  return prior;
}

/** How many starts with the unconfirmed configuration `c` never ended (read only; beginRemoteStart counts one more). */
export function unendedStarts(dataDir: string, c: StoredRemoteConfig): number {
  try {
    const v = JSON.parse(readFileSync(attemptPath(dataDir), 'utf8')) as { sha256?: unknown; starts?: unknown };
    if (v.sha256 === c.sha256 && Number.isSafeInteger(v.starts)) return v.starts as number;
  } catch {
    // none, or unreadable (killed while writing it): no earlier start counted
  }
  return 0;
}

/** The start ended (confirmed, failed, or stopped by a signal): nothing to count against the configuration. */
export function endRemoteStart(dataDir: string): void {
  rmSync(attemptPath(dataDir), { force: true });
}

/**
 * The agent did not start with the stored configuration: it goes back to the one before (or to the local
 * config alone), and the failure is kept so the agent reports it and does not apply that configuration again.
 */
export function failRemoteConfig(dataDir: string, failed: FailedRemoteConfig): void {
  writeFileAtomic(failedPath(dataDir), `${JSON.stringify(failed)}\n`, 0o600);
  if (existsSync(prevPath(dataDir))) renameSync(prevPath(dataDir), remoteConfigPath(dataDir));
  else rmSync(remoteConfigPath(dataDir), { force: true });
  endRemoteStart(dataDir);
}

export function readFailedRemoteConfig(dataDir: string): FailedRemoteConfig | undefined {
  try {
    const v = JSON.parse(readFileSync(failedPath(dataDir), 'utf8')) as Partial<FailedRemoteConfig>;
    return typeof v.sha256 === 'string' && typeof v.code === 'string' && typeof v.message === 'string' ? { sha256: v.sha256, code: v.code, message: v.message } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A remote configuration the box refused (a value its schema refuses over the local config, a setting
 * that is the box's own, a hash that does not match): its document versions, the setting named and why.
 * Kept for `status` (DATA/remote-config.refused.json) until a later configuration is applied; unlike a
 * failed one it is tried again at the next start (the local config may have changed).
 */
export interface RefusedRemoteConfig { sha256: string; sources: Array<{ scope: string; version: number }>; code: string; message: string; field?: string; at: string }

/** Records the refusal (`r`), or clears it (null). */
export function writeRefusedRemoteConfig(dataDir: string, r: RefusedRemoteConfig | null): void {
  if (r) writeFileAtomic(refusedPath(dataDir), `${JSON.stringify(r)}\n`, 0o600);
  else rmSync(refusedPath(dataDir), { force: true });
}

export function readRefusedRemoteConfig(dataDir: string): RefusedRemoteConfig | undefined {
  try {
    const v = JSON.parse(readFileSync(refusedPath(dataDir), 'utf8')) as Partial<RefusedRemoteConfig>;
    if (typeof v.sha256 !== 'string' || typeof v.code !== 'string' || typeof v.message !== 'string' || typeof v.at !== 'string') return undefined;
    const sources = Array.isArray(v.sources) ? v.sources.filter((x) => typeof x?.scope === 'string' && Number.isSafeInteger(x.version)) : [];
    return { sha256: v.sha256, sources, code: v.code, message: v.message, ...(typeof v.field === 'string' ? { field: v.field } : {}), at: v.at };
  } catch {
    return undefined;
  }
}

/** The merged local config with the stored remote settings over it (or the local config alone when none). */
export function withRemote(local: Record<string, unknown>, remote: StoredRemoteConfig | undefined): Record<string, unknown> {
  return remote ? overlaySettings(local, remote.settings) : local;
}
