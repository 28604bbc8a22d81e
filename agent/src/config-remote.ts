// The last good remote configuration of this box (docs/agent.md "Remote configuration"): the layered
// settings a hub sent in its desired document, kept in DATA/remote-config.json once applied, and laid
// over the local config (file, environment, flags) at every start, so a restart the configuration asked
// for starts with it and an offline box keeps it. zod-free: it runs on the daemon's start-up path.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { overlaySettings, settingsHash, writeFileAtomic, type RemoteSettings } from '@edgefleet/shared/core';

export interface StoredRemoteConfig {
  sha256: string;
  sources: Array<{ scope: string; version: number }>;
  settings: RemoteSettings;
  /** When it was applied. */
  at: string;
}

export const remoteConfigPath = (dataDir: string): string => join(dataDir, 'remote-config.json');

/** The stored remote configuration, or undefined when none (or the file is not one: then it is ignored and reported by `problem`). */
export function readRemoteConfig(dataDir: string, problem: (msg: string) => void = () => undefined): StoredRemoteConfig | undefined {
  const path = remoteConfigPath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredRemoteConfig>;
    const settings = v.settings;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new Error('expected "settings" to be an object');
    // The hash is the document's identity: a file edited by hand no longer matches it.
    if (v.sha256 !== settingsHash(settings)) throw new Error('its sha256 does not match its settings');
    return { sha256: v.sha256, sources: Array.isArray(v.sources) ? v.sources : [], settings, at: typeof v.at === 'string' ? v.at : '' };
  } catch (err) {
    problem(`${path} is ignored: ${(err as Error).message}`);
    return undefined;
  }
}

export function writeRemoteConfig(dataDir: string, c: StoredRemoteConfig): void {
  writeFileAtomic(remoteConfigPath(dataDir), `${JSON.stringify(c, null, 2)}\n`, 0o600);
}

/** The merged local config with the stored remote settings over it (or the local config alone when none). */
export function withRemote(local: Record<string, unknown>, remote: StoredRemoteConfig | undefined): Record<string, unknown> {
  return remote ? overlaySettings(local, remote.settings) : local;
}
