// Agent configuration: one zod schema, over what config-merge.ts gathered from an
// optional JSON file, then environment, then command-line flags (flags win). A bad
// value fails with a CONFIG_INVALID error naming the field and what was expected.
// The daemon tries config-fast.ts first and loads this module (and zod) only when
// that check does not accept the config (docs/performance.md).
import { z } from 'zod';
import { AppError, parseWire } from '@edgefleet/shared';
import { mergeConfig, type ConfigFlags } from './config-merge.js';
import { MAX_BATCH_SIZE, MAX_QUEUE_DELAY_US } from './runtime/batching.js';

export type { ConfigFlags } from './config-merge.js';

export const RuntimeOverrides = z.object({
  intraOpThreads: z.number().int().positive().optional(),
  interOpThreads: z.number().int().positive().optional(),
  spinning: z.boolean().optional(),
  graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
  /** onnxruntime-node, onnxruntime-web's WebAssembly, or native when it loads else wasm (runtime/backend.ts). */
  backend: z.enum(['native', 'wasm', 'auto']).optional(),
  /** Dynamic batching (docs/decisions/0018-dynamic-batching.md); default auto. */
  batching: z.enum(['off', 'on', 'auto']).optional(),
  /** Rows per batched run; overrides the manifest's runtime.maxBatchSize. */
  maxBatchSize: z.number().int().positive().max(MAX_BATCH_SIZE).optional(),
  /** How long a request waits for company with batching "on", in µs; overrides the manifest's. */
  maxQueueDelayUs: z.number().int().nonnegative().max(MAX_QUEUE_DELAY_US).optional(),
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

const GRPC_DEFAULTS = { enabled: false, port: 8702, maxConcurrentStreams: 32, maxCalls: 256 };
export const GrpcConfig = z.object({
  enabled: z.boolean().default(false),
  /** On api.host; 0 picks a free port (tests). 8702: next to REST's 8701. */
  port: z.number().int().min(0).max(65535).default(8702),
  /** gRPC also on this Unix socket (mode 0660, api.socketGroup), e.g. /run/edgefleet/agent-grpc.sock. */
  socket: z.string().min(1).optional(),
  /** HTTP/2 streams at once per connection. */
  maxConcurrentStreams: z.number().int().positive().default(32),
  /** gRPC calls in progress at once over all connections; past it, UNAVAILABLE before the message is read. */
  maxCalls: z.number().int().positive().default(256),
}).strict();

export const AgentConfig = z.object({
  dataDir: z.string().min(1, 'expected a data directory'),
  api: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8701),
    /** Required from clients that are not on the loopback interface, when set. */
    token: z.string().min(8, 'expected a bearer token of at least 8 characters').optional(),
    maxBodyBytes: z.number().int().positive().default(16 * 1024 * 1024),
    /** Host header names accepted besides 127.0.0.1, localhost and [::1] (DNS rebinding, docs/security.md). */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Open connections at once; more are closed on accept. */
    maxConnections: z.number().int().positive().default(256),
    /** Request bodies being read at once, in bytes, over all connections; past it, 503 before reading. */
    maxInflightBodyBytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Time for a client to send its request headers. */
    headersTimeoutMs: z.number().int().positive().default(10_000),
    /** Time for a client to send its whole request, body included. */
    requestTimeoutMs: z.number().int().positive().default(30_000),
    keepAliveTimeoutMs: z.number().int().positive().default(5_000),
    /** On stop, time for in-flight requests before every connection is closed. */
    stopGraceMs: z.number().int().nonnegative().default(2_000),
    /** REST also on this Unix socket (mode 0660), e.g. /run/edgefleet/agent.sock: the recommended way for local apps (docs/agent.md). */
    socket: z.string().min(1).optional(),
    /** Group owning the Unix sockets (a name or a gid): its members may call the agent. */
    socketGroup: z.string().min(1).optional(),
    /** OIP v2 gRPC beside REST (docs/decisions/0016-grpc-local-api.md): off unless enabled, then on api.host. */
    grpc: GrpcConfig.default(GRPC_DEFAULTS),
  }).strict().default({
    host: '127.0.0.1', port: 8701, maxBodyBytes: 16 * 1024 * 1024, allowedHosts: [], maxConnections: 256, maxInflightBodyBytes: 64 * 1024 * 1024,
    headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, stopGraceMs: 2_000, grpc: GRPC_DEFAULTS,
  }),
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
  /** Data capture asked for by the hub (docs/agent.md "Data capture"): the box's bounds for it. */
  capture: z.object({
    /** Ciphertext bytes of captured rows held on the box until uploaded; a capture that would pass it ends (budget_full). */
    budgetBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Plaintext bytes of rows per sealed chunk (also the largest row kept). */
    chunkBytes: z.number().int().min(4096).max(96 * 1024).default(64 * 1024),
    /** Rows wait in memory at most this long before they are sealed. */
    flushSec: z.number().int().min(1).max(300).default(5),
    /** Chunks uploaded per second at most. */
    uploadsPerSec: z.number().positive().max(100).default(2),
  }).strict().prefault({}),
  /** Allow NaN / Infinity in request tensors (sent as strings "NaN", "Infinity", "-Infinity"). */
  allowNonFinite: z.boolean().default(false),
  log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().default({ level: 'info' }),
}).strict();
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

/**
 * file (if --config or EDGEFLEET_AGENT_CONFIG) <- env (EDGEFLEET_AGENT_DATA, EDGEFLEET_AGENT_API_TOKEN)
 * <- flags (config-merge.ts), validated. Relative dataDir is resolved against the working directory.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): AgentConfig {
  return validateConfig(mergeConfig(env, flags));
}

/** The merged sources checked against the schema, defaults filled in. */
export function validateConfig(merged: Record<string, unknown>): AgentConfig {
  try {
    return parseWire(AgentConfig, merged, 'config');
  } catch (err) {
    if (err instanceof AppError) throw new AppError('CONFIG_INVALID', err.message, { details: err.details });
    throw err;
  }
}
