// Gathering the agent's configuration (config.ts validates it): an optional JSON file,
// then environment, then command-line flags. No zod here: the daemon merges, then
// checks with config-fast.ts, and loads the schema only when that check says no.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError } from '@edgefleet/shared/core';

/** Flags from the command line that override the file. */
export interface ConfigFlags {
  dataDir?: string | undefined;
  config?: string | undefined;
  apiHost?: string | undefined;
  apiPort?: string | number | undefined;
  logLevel?: string | undefined;
  /** --broker URL: overrides sync.brokerUrl. */
  broker?: string | undefined;
}

/**
 * file (if --config or EDGEFLEET_AGENT_CONFIG) <- env (EDGEFLEET_AGENT_DATA, EDGEFLEET_AGENT_API_TOKEN)
 * <- flags, not yet validated. Relative dataDir is resolved against the working directory.
 */
export function mergeConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): Record<string, unknown> {
  const file = flags.config ?? env.EDGEFLEET_AGENT_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
      raw = v as Record<string, unknown>;
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `config file ${file} is not a JSON object: ${(err as Error).message}`);
    }
  }
  const api = { ...((raw.api as Record<string, unknown> | undefined) ?? {}) };
  if (env.EDGEFLEET_AGENT_API_TOKEN) api.token = env.EDGEFLEET_AGENT_API_TOKEN;
  if (flags.apiHost !== undefined) api.host = flags.apiHost;
  if (flags.apiPort !== undefined) {
    const n = typeof flags.apiPort === 'number' ? flags.apiPort : /^\d+$/.test(flags.apiPort) ? Number(flags.apiPort) : NaN;
    if (!Number.isInteger(n)) throw new AppError('CONFIG_INVALID', `invalid config: api.port: expected an integer port, got "${flags.apiPort}"`);
    api.port = n;
  }
  const merged: Record<string, unknown> = { ...raw, api };
  // file < env < flags, as for every other setting (docs/agent.md).
  const dataDir = flags.dataDir ?? env.EDGEFLEET_AGENT_DATA ?? (raw.dataDir as string | undefined);
  if (dataDir === undefined) {
    throw new AppError('CONFIG_INVALID', 'invalid config: dataDir: expected --data-dir DIR, "dataDir" in the config file, or EDGEFLEET_AGENT_DATA');
  }
  merged.dataDir = typeof dataDir === 'string' ? resolve(dataDir) : dataDir;
  if (flags.broker !== undefined) merged.sync = { ...((raw.sync as object | undefined) ?? {}), brokerUrl: flags.broker };
  if (flags.logLevel !== undefined) merged.log = { ...((raw.log as object | undefined) ?? {}), level: flags.logLevel };
  return merged;
}
