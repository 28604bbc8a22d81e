// Agent configuration: one zod schema, loaded from an optional JSON file, then
// environment, then command-line flags (flags win). A bad value fails with a
// CONFIG_INVALID error naming the field and what was expected.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError, parseWire } from '@edgefleet/shared';

export const RuntimeOverrides = z.object({
  intraOpThreads: z.number().int().positive().optional(),
  interOpThreads: z.number().int().positive().optional(),
  spinning: z.boolean().optional(),
  graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
}).strict();
export type RuntimeOverrides = z.infer<typeof RuntimeOverrides>;

export const BatchJobConfig = z.object({
  name: z.string().min(1),
  model: z.string().min(1),
  version: z.string().optional(),
  cron: z.string().min(1),
  input: z.string().min(1),
  outputDir: z.string().min(1),
}).passthrough();

export const AgentConfig = z.object({
  dataDir: z.string().min(1, 'expected a data directory'),
  api: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8701),
    /** Required from clients that are not on the loopback interface, when set. */
    token: z.string().min(8, 'expected a bearer token of at least 8 characters').optional(),
    maxBodyBytes: z.number().int().positive().default(16 * 1024 * 1024),
  }).strict().default({ host: '127.0.0.1', port: 8701, maxBodyBytes: 16 * 1024 * 1024 }),
  runtime: RuntimeOverrides.default({}),
  concurrency: z.object({
    /** ORT runs at once per model; more wait in the queue. */
    perModel: z.number().int().positive().default(4),
    /** Waiting requests per model beyond which a 503 with Retry-After is returned. */
    queue: z.number().int().nonnegative().default(64),
  }).strict().default({ perModel: 4, queue: 64 }),
  summaries: z.object({
    windowSec: z.number().int().positive().default(60),
    budgetBytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Save the open window this often, so a crash loses at most this many seconds of it (0: only on close and stop). */
    checkpointSec: z.number().int().nonnegative().default(5),
  }).strict().default({ windowSec: 60, budgetBytes: 64 * 1024 * 1024, checkpointSec: 5 }),
  batch: z.object({ jobs: z.array(BatchJobConfig).default([]) }).default({ jobs: [] }),
  /** The link to the hub (used when DATA/credentials.json exists, written by `edgefleet-agent enroll`). */
  sync: z.object({
    /** Overrides the broker URL from the credentials (e.g. mqtt://hub.lan:1883). */
    brokerUrl: z.string().url('expected a broker URL such as mqtt://hub.example:1883').optional(),
    /** Bytes per model block asked of the hub. */
    blockSize: z.number().int().min(1024).max(1024 * 1024).default(1024 * 1024),
    /** Blocks in flight at once during a download. */
    window: z.number().int().positive().max(256).default(8),
    /** Delay between reconnect attempts. */
    reconnectMs: z.number().int().positive().default(2000),
    outbox: z.object({
      /** Windows or events per message. */
      batchSize: z.number().int().positive().default(50),
      /** Messages per second while a backlog drains. */
      messagesPerSec: z.number().positive().default(20),
      /** Kept under the broker's payload limit. */
      maxMessageBytes: z.number().int().min(1024).default(192 * 1024),
      /** Resend what was sent but not acked after this long. */
      resendAfterMs: z.number().int().positive().default(15_000),
    }).strict().prefault({}),
  }).strict().prefault({}),
  /** Allow NaN / Infinity in request tensors (sent as strings "NaN", "Infinity", "-Infinity"). */
  allowNonFinite: z.boolean().default(false),
  log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().default({ level: 'info' }),
}).strict();
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

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
 * <- flags. Relative dataDir is resolved against the working directory.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): AgentConfig {
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
  try {
    return parseWire(AgentConfig, merged, 'config');
  } catch (err) {
    if (err instanceof AppError) throw new AppError('CONFIG_INVALID', err.message, { details: err.details });
    throw err;
  }
}
