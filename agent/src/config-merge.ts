// Gathering the agent's configuration (config.ts validates it): an optional JSON file,
// then environment, then command-line flags. No zod here: the daemon merges, then
// checks with config-fast.ts, and loads the schema only when that check says no.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppError, jsonParseProblem } from '@edgefleet/shared/core';
import { DATA_DIR_SOURCES } from './cli/options.js';

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
 * Where the merged values came from, for messages (config.ts): the file, and the settings the
 * environment or a flag set. Kept beside the merged object, not in it (its keys are the config's).
 */
export interface ConfigOrigins {
  file?: string;
  /** Dotted setting path -> the variable or flag that set it. */
  set: Record<string, string>;
}
const origins = new WeakMap<object, ConfigOrigins>();

/** Where the values of a merged config came from; undefined for an object mergeConfig did not return. */
export function configOrigins(merged: object): ConfigOrigins | undefined {
  return origins.get(merged);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The file's relative paths read against the file's directory, as the hub reads its config (docs/agent.md
 * "Configuration"): under systemd the working directory is /. An empty path is left for the schema to refuse.
 */
function pathsAgainst(raw: Record<string, unknown>, base: string): Record<string, unknown> {
  const at = (o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> => {
    const out = { ...o };
    for (const k of keys) if (typeof out[k] === 'string' && out[k] !== '') out[k] = resolve(base, out[k] as string);
    return out;
  };
  const out = at(raw, ['dataDir']);
  if (isObject(out.api)) {
    const api = at(out.api, ['socket']);
    if (isObject(api.grpc)) api.grpc = at(api.grpc, ['socket']);
    out.api = api;
  }
  if (isObject(out.batch) && Array.isArray(out.batch.jobs)) {
    out.batch = { ...out.batch, jobs: out.batch.jobs.map((j: unknown) => (isObject(j) ? at(j, ['input', 'outputDir']) : j)) };
  }
  return out;
}

/** " (line 3, column 5)" for JSON.parse's "at position N", when its message has no line of its own. */
function lineOf(text: string, err: unknown): string {
  const m = /at position (\d+)(?! \(line)/.exec((err as Error).message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1])).split('\n');
  return ` (line ${before.length}, column ${before[before.length - 1]!.length + 1})`;
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/**
 * file (if --config or EDGEFLEET_AGENT_CONFIG) <- env (EDGEFLEET_AGENT_DATA, EDGEFLEET_AGENT_API_TOKEN)
 * <- flags, not yet validated. Relative paths of the file are read against the file, those of the
 * environment and flags against the working directory. A variable
 * set but empty counts as unset (systemd's `Environment=X=`, docker's `-e X=`).
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
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      // Node 20 says only "at position 180": a hand-edited file's trailing comma is found by its line.
      throw new AppError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${jsonParseProblem(text, err, ': save it without one')}${lineOf(text, err)}; expected a JSON object of the settings (docs/agent.md "Configuration")`);
    }
    if (!isObject(v)) throw new AppError('CONFIG_INVALID', `config file ${file} is not a JSON object: expected a JSON object of the settings, got ${kindOf(v)}`);
    raw = pathsAgainst(v, dirname(resolve(file)));
    // The sections environment and flags are merged into: spread, a number or a string would vanish or
    // turn into keys "0", "1", ... (api: 5 was taken as no api section at all).
    for (const key of ['api', 'sync', 'log']) {
      const v = raw[key];
      if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
        throw new AppError('CONFIG_INVALID', `invalid config: ${key}: expected an object, got ${kindOf(v)} in ${file}`, { details: { field: key } });
      }
    }
  }
  const set: Record<string, string> = {};
  const api = { ...((raw.api as Record<string, unknown> | undefined) ?? {}) };
  if (env.EDGEFLEET_AGENT_API_TOKEN) {
    api.token = env.EDGEFLEET_AGENT_API_TOKEN;
    set['api.token'] = 'EDGEFLEET_AGENT_API_TOKEN';
  }
  if (flags.apiHost !== undefined) {
    api.host = flags.apiHost;
    set['api.host'] = '--api-host';
  }
  if (flags.apiPort !== undefined) {
    const n = typeof flags.apiPort === 'number' ? flags.apiPort : /^\d+$/.test(flags.apiPort) ? Number(flags.apiPort) : NaN;
    if (!Number.isInteger(n)) throw new AppError('CONFIG_INVALID', `invalid config: api.port: expected an integer port, got "${flags.apiPort}" (--api-port)`);
    api.port = n;
    set['api.port'] = '--api-port';
  }
  const merged: Record<string, unknown> = { ...raw, api };
  // file < env < flags, as for every other setting (docs/agent.md).
  const [dataDir, from] = flags.dataDir !== undefined ? [flags.dataDir, '--data-dir']
    : env.EDGEFLEET_AGENT_DATA ? [env.EDGEFLEET_AGENT_DATA, 'EDGEFLEET_AGENT_DATA'] : [raw.dataDir, file];
  if (dataDir === undefined) {
    throw new AppError('CONFIG_INVALID', `invalid config: dataDir: expected ${DATA_DIR_SOURCES}`);
  }
  // resolve('') is the working directory (/ under systemd): an empty path is refused, not taken for it.
  if (dataDir === '') throw new AppError('CONFIG_INVALID', `invalid config: dataDir: expected a directory, got an empty ${from === file ? `"dataDir" in ${file}` : from}`, { details: { field: 'dataDir' } });
  merged.dataDir = typeof dataDir === 'string' ? resolve(dataDir) : dataDir;
  if (from !== file) set.dataDir = from as string;
  if (flags.broker !== undefined) {
    merged.sync = { ...((raw.sync as object | undefined) ?? {}), brokerUrl: flags.broker };
    set['sync.brokerUrl'] = '--broker';
  }
  if (flags.logLevel !== undefined) {
    merged.log = { ...((raw.log as object | undefined) ?? {}), level: flags.logLevel };
    set['log.level'] = '--log-level';
  }
  origins.set(merged, { ...(file ? { file } : {}), set });
  return merged;
}
