// How `edgefleet-hub run` reads its configuration (docs/hub.md "Config"): the optional JSON file
// (--config, else EDGEFLEET_HUB_CONFIG) with its paths read against the file, then the run flags over it,
// validated by the HubConfig schema (config.ts). A bad value is a CONFIG_INVALID AppError naming the
// field, its flag when it has one, where it came from, what was expected and the value given (as the
// agent's: shared/src/wire/issue-words.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, givenText, jsonParseProblem, plainIssue, withUnknownKeyHints } from '@edgefleet/shared';
import { HubConfig } from './config.js';

type FlagKind = 'path' | 'string' | 'int' | 'list';

/** The flags of `edgefleet-hub run`: the config field each sets (none for --config), its kind, and its help. */
export const RUN_FLAGS: Record<string, { field: keyof HubConfig | ''; kind: FlagKind; value: string; description: string }> = {
  'data-dir': { field: 'dataDir', kind: 'path', value: 'DIR', description: 'data directory: hub.db, bundles, keys, admin.token (required here or in the config file)' },
  database: { field: 'database', kind: 'string', value: 'URL', description: 'postgres://USER@HOST:PORT/DB: keep the hub\'s tables in PostgreSQL (default DATA/hub.db, SQLite)' },
  config: { field: '', kind: 'path', value: 'FILE', description: 'hub.json: a JSON object of these settings and more (docs/hub.md); flags win (default: $EDGEFLEET_HUB_CONFIG)' },
  host: { field: 'host', kind: 'string', value: 'HOST', description: 'address the HTTP API and the broker listen on (default 127.0.0.1)' },
  'http-port': { field: 'httpPort', kind: 'int', value: 'PORT', description: 'HTTP API port, 0 for any free one (default 8700)' },
  'mqtt-port': { field: 'mqttPort', kind: 'int', value: 'PORT', description: 'MQTT port, 0 for any free one (default 1883)' },
  'mqtts-port': { field: 'mqttsPort', kind: 'int', value: 'PORT', description: 'MQTT over TLS port (needs --tls-cert and --tls-key)' },
  'tls-cert': { field: 'tlsCert', kind: 'path', value: 'FILE', description: 'TLS certificate (PEM) for --mqtts-port' },
  'tls-key': { field: 'tlsKey', kind: 'path', value: 'FILE', description: 'TLS private key (PEM) for --mqtts-port' },
  'ws-port': { field: 'wsPort', kind: 'int', value: 'PORT', description: 'MQTT over WebSocket port (default off)' },
  trust: { field: 'trust', kind: 'path', value: 'FILE', description: 'trust document to store (first start) or rotate to' },
  'hub-key': { field: 'hubKey', kind: 'path', value: 'FILE', description: 'hub secret key file; default DATA/hub.key, created when missing' },
  'content-keys': { field: 'contentKeys', kind: 'path', value: 'FILE', description: 'key file wrapping sealed models\' content keys, must exist (every hub on one database needs the same one); default DATA/content-keys.key, created when missing' },
  broker: { field: 'publicBrokers', kind: 'list', value: 'URL', description: 'broker URL given to devices at enrollment' },
  'max-bundle-bytes': { field: 'maxBundleBytes', kind: 'int', value: 'BYTES', description: 'largest model bundle accepted (default 512 MiB)' },
  'log-level': { field: 'logLevel', kind: 'string', value: 'LEVEL', description: 'trace, debug, info, warn, error, fatal or silent (default info)' },
};

type RunValues = Readonly<Record<string, string | string[] | boolean | boolean[] | undefined>>;

/**
 * `--config`, else the file EDGEFLEET_HUB_CONFIG names (set and not empty), as the agent's
 * EDGEFLEET_AGENT_CONFIG: the packaged unit's ExecStart has no --config, a drop-in sets the variable.
 */
export function configFileFrom(values: RunValues, env: Readonly<Record<string, string | undefined>>): RunValues {
  return values['config'] === undefined && env.EDGEFLEET_HUB_CONFIG ? { ...values, config: env.EDGEFLEET_HUB_CONFIG } : values;
}

/**
 * Reads `--config` (if given) and the flags of `edgefleet-hub run`, as parsed by the command line
 * (flag name -> value; integers already checked to be digits); flags win.
 */
export function loadConfig(values: RunValues, cwd = process.cwd()): HubConfig {
  let fromFile: Record<string, unknown> = {};
  const file = values['config'];
  if (typeof file === 'string') {
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `cannot read config file ${path}: ${(err as Error).message}`);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `config file ${path} is not JSON: ${jsonParseProblem(text, err, ': save it without one')}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new AppError('CONFIG_INVALID', `config file ${path}: expected a JSON object`);
    }
    // Every path in the file is read against the file (docs/hub.md "Config"), also those inside sections.
    // An empty path stays empty, for the schema to refuse (resolved, it would be the file's directory).
    const against = (o: Record<string, unknown>, k: string): void => {
      if (typeof o[k] === 'string' && o[k] !== '') o[k] = resolve(path, '..', o[k] as string);
    };
    for (const k of ['dataDir', 'trust', 'hubKey', 'contentKeys', 'tlsCert', 'tlsKey']) against(fromFile, k);
    for (const [section, k] of [['externalBroker', 'passwordFile'], ['console', 'dir']] as const) {
      const o = fromFile[section];
      if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
        fromFile[section] = { ...(o as Record<string, unknown>) };
        against(fromFile[section] as Record<string, unknown>, k);
      }
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [flag, { field, kind }] of Object.entries(RUN_FLAGS)) {
    const v = values[flag];
    if (v === undefined || field === '') continue;
    if (kind === 'int') merged[field] = Number(v);
    else if (kind === 'path') merged[field] = v === '' ? v : resolve(cwd, v as string);
    else merged[field] = v;
  }
  const r = HubConfig.safeParse(merged);
  if (!r.success) {
    // A misspelt key names the one likely meant (withUnknownKeyHints).
    const what = withUnknownKeyHints(HubConfig, merged, r.error.issues).slice(0, 6).map((i) => {
      const field = i.path.map(String).join('.') || '(root)';
      const flag = Object.entries(RUN_FLAGS).find(([, f]) => f.field === i.path[0])?.[0];
      return `${field}${flag ? ` (--${flag})` : ''}: ${plainIssue(i.message)}${givenText(merged, i.path, i.message)}`;
    });
    throw new AppError('CONFIG_INVALID', `invalid hub config${typeof file === 'string' ? ` (${file} and flags)` : ''}: ${what.join('; ')}`);
  }
  return r.data;
}
