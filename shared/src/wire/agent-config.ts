// The agent's configuration schema, defined once: the agent validates its merged config with it
// (agent/src/config.ts), and the hub checks remote configuration documents with it (docs/agent.md
// "Remote configuration"). Also the wire shapes of remote configuration: the REST documents per scope,
// what a desired document carries and what the agent reports back.
import { z } from 'zod';
import { AppError } from '../errors.js';
import {
  DEFAULT_GRPC_MAX_CALLS, DEFAULT_OUTBOX_MESSAGE_BYTES, MIN_OUTBOX_MESSAGE_BYTES, MAX_BATCH_SIZE, MAX_BLOB_GET_BLOCKS, MAX_ORT_THREADS, MIN_SUMMARY_BUDGET_BYTES, MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES, MAX_QUEUE_DELAY_US, MAX_REMOTE_SETTINGS, DEFAULT_REMOVED_KEEP_SEC, MIN_REMOVED_KEEP_SEC, MAX_REMOVED_KEEP_SEC, DEFAULT_KEEPALIVE_SEC, MAX_KEEPALIVE_SEC, MAX_STOP_GRACE_MS, MAX_TIMER_MS, MAX_WINDOW_SEC, MIN_RATE_PER_SEC, SETTING_MAX,
  assertRemoteKey, bodyBudgetProblem, grpcBufferProblem, overlaySettings, type RemoteSettings,
} from '../agent-settings.js';
import { DeviceId, IsoTime, Sha256Hex } from './common.js';
import { plainIssue } from './issue-words.js';
import { FetchedPort } from './fetched-port.js';

// The bounds the agent can honour (constants in agent-settings.ts, zod-free: the agent's quick start-up
// check, config-fast.ts, uses them too), so the hub refuses at `config set` what every box would refuse.
/** A duration in ms: a timer past MAX_TIMER_MS fires after 1 ms. */
const durationMs = () => z.number().int().positive().max(MAX_TIMER_MS, `expected at most ${MAX_TIMER_MS} ms (about 24.8 days, Node's longest timer)`);
/** A send rate: slower than MIN_RATE_PER_SEC, a token bucket's wait no longer fits a timer. */
const ratePerSec = () => z.number().min(MIN_RATE_PER_SEC, `expected at least ${MIN_RATE_PER_SEC} per second (one per 1000 s)`);

/**
 * A count or size bounded by SETTING_MAX (agent-settings.ts): the message names the range and what is
 * counted (`expected 1 to 4096 open connections per listener`), the value is added by whoever reports it.
 */
const upTo = (key: keyof typeof SETTING_MAX, min: number, what: string) => {
  const max = SETTING_MAX[key];
  const message = `expected ${min} to ${max} ${what}`;
  return z.number().int(message).min(min, message).max(max, message);
};
const MiB = 1024 * 1024;

/** An onnxruntime thread pool's size: more threads than cores only cost (MAX_ORT_THREADS). */
/**
 * The hub's MQTT broker: mqtt://, mqtts://, ws:// or wss:// (docs/mqtt.md). An http(s):// URL is refused by
 * name: the hub's API address (what `enroll --hub` takes) given as the broker had the agent retry forever
 * with "mqtt error: Invalid header flag bits" (docs/agent.md "Configuration").
 */
const brokerUrl = () => z.string().superRefine((s, ctx) => {
  const example = 'e.g. mqtt://hub.example:1883 (the brokers "edgefleet-agent enroll" printed, in credentials.json)';
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    url = undefined;
  }
  if (url && ['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '') return;
  const api = url && (url.protocol === 'http:' || url.protocol === 'https:') ? ': an http(s):// URL is the hub\'s API address, which "enroll --hub" takes, not its broker' : '';
  ctx.addIssue({ code: 'custom', message: `expected the hub's MQTT broker, mqtt://, mqtts://, ws:// or wss://HOST:PORT, ${example}; got ${JSON.stringify(s)}${api}` });
});
const ortThreads = () => z.number().int().positive().max(MAX_ORT_THREADS, `expected at most ${MAX_ORT_THREADS} threads (more than an edge box has cores: a larger pool only slows the session's creation)`);

export const RuntimeOverrides = z.object({
  intraOpThreads: ortThreads().optional(),
  interOpThreads: ortThreads().optional(),
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
}).strict();

const GRPC_DEFAULTS = { enabled: false, port: 8702, maxConcurrentStreams: 32, maxCalls: DEFAULT_GRPC_MAX_CALLS };
export const GrpcConfig = z.object({
  enabled: z.boolean().default(false),
  /** On api.host; 0 picks a free port (tests). 8702: next to REST's 8701. */
  port: z.number().int().min(0).max(65535).default(8702),
  /** gRPC also on this Unix socket (mode 0660, api.socketGroup), e.g. /run/edgefleet/agent-grpc.sock. */
  socket: z.string().min(1).optional(),
  /** HTTP/2 streams at once per connection. */
  maxConcurrentStreams: upTo('api.grpc.maxConcurrentStreams', 1, 'HTTP/2 streams per connection').default(32),
  /**
   * gRPC calls in progress at once over all connections; past it, UNAVAILABLE before the message is read.
   * With api.maxBodyBytes it bounds the messages grpc-js holds (checked on AgentConfig's api: grpcBufferProblem).
   */
  maxCalls: upTo('api.grpc.maxCalls', 1, 'gRPC calls at once').default(DEFAULT_GRPC_MAX_CALLS),
}).strict();

export const AgentConfig = z.object({
  dataDir: z.string().min(1, 'expected a data directory'),
  api: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    /** Apps reach it by fetch: a port fetch refuses is refused (fetched-port.ts). */
    port: FetchedPort('apps using fetch').default(8701),
    /** Required from clients that are not on the loopback interface, when set. */
    token: z.string().min(8, 'expected a bearer token of at least 8 characters').optional(),
    maxBodyBytes: upTo('api.maxBodyBytes', 1, `bytes (${SETTING_MAX['api.maxBodyBytes'] / MiB} MiB) in one request body`).default(16 * 1024 * 1024),
    /** Host header names accepted besides 127.0.0.1, localhost and [::1] (DNS rebinding, docs/security.md). */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Open connections at once; more are closed on accept. */
    maxConnections: upTo('api.maxConnections', 1, 'open connections per listener').default(256),
    /** Request bodies being read at once, in bytes, over all connections; past it, 503 before reading. */
    maxInflightBodyBytes: upTo('api.maxInflightBodyBytes', 1, `bytes (${SETTING_MAX['api.maxInflightBodyBytes'] / MiB} MiB) of requests held at once`).default(64 * 1024 * 1024),
    /** Time for a client to send its request headers. */
    headersTimeoutMs: durationMs().default(10_000),
    /** Time for a client to send its whole request, body included. */
    requestTimeoutMs: durationMs().default(30_000),
    keepAliveTimeoutMs: durationMs().default(5_000),
    /** Time answer bytes may wait for a client that takes none before its connection (gRPC: session) is closed. */
    writeTimeoutMs: durationMs().default(30_000),
    /** On stop, time for in-flight requests before every connection is closed; bounded by the agent's stop budget. */
    stopGraceMs: z.number().int().nonnegative()
      .max(MAX_STOP_GRACE_MS, `expected at most ${MAX_STOP_GRACE_MS} ms (what the agent's stop gives requests in flight, docs/agent.md "Stopping")`).default(2_000),
    /** REST also on this Unix socket (mode 0660), e.g. /run/edgefleet/agent.sock: the recommended way for local apps (docs/agent.md). */
    socket: z.string().min(1).optional(),
    /** Group owning the Unix sockets (a name or a gid): its members may call the agent. */
    socketGroup: z.string().min(1).optional(),
    /** OIP v2 gRPC beside REST (docs/decisions/0016-grpc-local-api.md): off unless enabled, then on api.host. */
    grpc: GrpcConfig.default(GRPC_DEFAULTS),
  }).strict().superRefine((api, ctx) => {
    // grpc-js holds up to maxCalls whole messages: a stated multiple of the REST budget at most (agent-settings.ts).
    const problem = grpcBufferProblem(api);
    if (problem) ctx.addIssue({ code: 'custom', path: ['grpc', 'maxCalls'], message: problem });
    // A body past the request budget is 413 whatever api.maxBodyBytes says (agent-settings.ts).
    const body = bodyBudgetProblem(api);
    if (body) ctx.addIssue({ code: 'custom', path: ['maxBodyBytes'], message: body });
  }).default({
    host: '127.0.0.1', port: 8701, maxBodyBytes: 16 * 1024 * 1024, allowedHosts: [], maxConnections: 256, maxInflightBodyBytes: 64 * 1024 * 1024,
    headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 30_000, stopGraceMs: 2_000, grpc: GRPC_DEFAULTS,
  }),
  runtime: RuntimeOverrides.default({}),
  concurrency: z.object({
    /** ORT runs at once per model; more wait in the queue. */
    perModel: upTo('concurrency.perModel', 1, 'runs at once per model').default(4),
    /** Waiting requests per model beyond which a 503 with Retry-After is returned. */
    queue: upTo('concurrency.queue', 0, 'waiting requests per model').default(64),
  }).strict().default({ perModel: 4, queue: 64 }),
  summaries: z.object({
    windowSec: z.number().int().positive().max(MAX_WINDOW_SEC, `expected at most ${MAX_WINDOW_SEC} s (a day)`).default(60),
    budgetBytes: z.number().int().min(MIN_SUMMARY_BUDGET_BYTES, `expected at least ${MIN_SUMMARY_BUDGET_BYTES} bytes (64 KiB): past its budget the box drops its oldest windows, unsent ones too`)
      .max(SETTING_MAX['summaries.budgetBytes'], `expected at most ${SETTING_MAX['summaries.budgetBytes']} bytes (16 GiB) of summary windows on disk`).default(64 * 1024 * 1024),
    /** Save the open window this often, so a crash loses at most this many seconds of it (0: only on close and stop). */
    checkpointSec: upTo('summaries.checkpointSec', 0, 's (a day; 0: only on close and stop)').default(5),
  }).strict().default({ windowSec: 60, budgetBytes: 64 * 1024 * 1024, checkpointSec: 5 }),
  batch: z.object({ jobs: z.array(BatchJobConfig).default([]) }).strict().default({ jobs: [] }),
  /** The link to the hub (used when DATA/credentials.json exists, written by `edgefleet-agent enroll`). */
  sync: z.object({
    /** Overrides the broker URL from the credentials (e.g. mqtt://hub.lan:1883). */
    brokerUrl: brokerUrl().optional(),
    /** Bytes per model block asked of the hub. */
    blockSize: z.number().int().min(1024).max(1024 * 1024).default(1024 * 1024),
    /** Blocks in flight at once during a download (asked in one blob/get, so at most what the hub takes in one). */
    window: z.number().int().positive().max(MAX_BLOB_GET_BLOCKS).default(8),
    /** Delay between reconnect attempts. */
    reconnectMs: durationMs().default(2000),
    /** MQTT keepalive: a silent link (no FIN, no RST) is given up after 1.5 times it (docs/agent.md "Connecting to a hub"). */
    keepaliveSec: z.number().int().positive().max(MAX_KEEPALIVE_SEC, `expected at most ${MAX_KEEPALIVE_SEC} s (an hour)`).default(DEFAULT_KEEPALIVE_SEC),
    /**
     * How long the files of a model the hub removed stay on the box (a redeploy within it needs no download),
     * from when serving stopped (docs/agent.md "Removed models"): an hour to 90 days.
     */
    removedKeepSec: z.number().int().min(MIN_REMOVED_KEEP_SEC, `expected at least ${MIN_REMOVED_KEEP_SEC} s (an hour)`).max(MAX_REMOVED_KEEP_SEC, `expected at most ${MAX_REMOVED_KEEP_SEC} s (90 days)`).default(DEFAULT_REMOVED_KEEP_SEC),
    outbox: z.object({
      /** Windows or events per message. */
      batchSize: upTo('sync.outbox.batchSize', 1, 'windows or events per message').default(50),
      /** Messages per second while a backlog drains. */
      messagesPerSec: ratePerSec().max(SETTING_MAX['sync.outbox.messagesPerSec'], `expected at most ${SETTING_MAX['sync.outbox.messagesPerSec']} per second`).default(20),
      /** Kept under the broker's payload limit. */
      maxMessageBytes: upTo('sync.outbox.maxMessageBytes', MIN_OUTBOX_MESSAGE_BYTES, `bytes (${SETTING_MAX['sync.outbox.maxMessageBytes'] / MiB} MiB) per MQTT message`).default(DEFAULT_OUTBOX_MESSAGE_BYTES),
      /** Resend what was sent but not acked after this long. */
      resendAfterMs: durationMs().default(15_000),
    }).strict().prefault({}),
  }).strict().prefault({}),
  /** Data capture asked for by the hub (docs/agent.md "Data capture"): the box's bounds for it. */
  capture: z.object({
    /** Ciphertext bytes of captured rows held on the box until uploaded; a capture that would pass it ends (budget_full). */
    budgetBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Plaintext bytes of rows per sealed chunk (also the largest row kept). */
    chunkBytes: z.number().int().min(MIN_CAPTURE_CHUNK_BYTES).max(MAX_CAPTURE_CHUNK_BYTES).default(64 * 1024),
    /** Rows wait in memory at most this long before they are sealed. */
    flushSec: z.number().int().min(1).max(300).default(5),
    /** Chunks uploaded per second at most. */
    uploadsPerSec: ratePerSec().max(100).default(2),
  }).strict().prefault({}),
  /** Allow NaN / Infinity in request tensors (sent as strings "NaN", "Infinity", "-Infinity"). */
  allowNonFinite: z.boolean().default(false),
  log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().default({ level: 'info' }),
}).strict();
export type AgentConfig = z.infer<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;


// --- remote configuration (docs/agent.md "Remote configuration") ----------------------------------

/** Flat settings of one document: dotted setting path -> value. */
export const RemoteSettingsSchema = z.record(z.string().min(1).max(128), z.unknown())
  .refine((o) => Object.keys(o).length <= MAX_REMOTE_SETTINGS, `expected at most ${MAX_REMOTE_SETTINGS} settings`);

/** PUT /config/{scope}: the whole document (a setting left out is no longer set at this scope). */
// The reason as api.ts's Reason (not imported: api.ts imports desired.ts, which imports this file).
export const ConfigPut = z.object({ settings: RemoteSettingsSchema, reason: z.string().trim().min(1, 'expected a reason').max(1000) }).strict();
export type ConfigPut = z.infer<typeof ConfigPut>;

/** One version of the document of a scope ("fleet", "tag/K=V", "device/ID"); version 0: never set. */
export const ConfigDocumentInfo = z.object({
  scope: z.string(),
  version: z.number().int().nonnegative(),
  settings: RemoteSettingsSchema,
  at: IsoTime.nullable(),
  by: z.string().nullable(),
  reason: z.string().nullable(),
});
export type ConfigDocumentInfo = z.infer<typeof ConfigDocumentInfo>;

export const ConfigSource = z.object({ scope: z.string(), version: z.number().int().positive() });
export type ConfigSource = z.infer<typeof ConfigSource>;

/** What a desired document carries: a device's layered settings, their hash and the documents they came from. */
// Settings bounded loosely here: an over-long list must not make the agent refuse the whole desired document
// (its models too); the agent refuses the configuration alone, naming what is wrong.
export const DesiredConfig = z.object({ sha256: Sha256Hex, sources: z.array(ConfigSource).max(1000), settings: z.record(z.string().max(128), z.unknown()) });
export type DesiredConfig = z.infer<typeof DesiredConfig>;

/**
 * What the agent reports: the remote settings in effect (sha256 null: none yet), and whether the last
 * desired configuration was applied, is waiting for the restart it needs, or was refused (then `error`
 * says why; the settings in effect are the last good ones).
 */
export const ReportedConfig = z.object({
  sha256: Sha256Hex.nullable(),
  sources: z.array(ConfigSource).max(1000).default([]),
  status: z.enum(['applied', 'restarting', 'failed']),
  at: IsoTime,
  error: z.object({ sha256: Sha256Hex, code: z.string(), message: z.string().max(2000), field: z.string().optional() }).optional(),
});
export type ReportedConfig = z.infer<typeof ReportedConfig>;

/** GET /devices/{id}/config: the layered settings with where each came from, and what the device reports. */
export const DeviceConfigView = z.object({
  deviceId: DeviceId,
  sha256: Sha256Hex,
  sources: z.array(ConfigSource),
  settings: z.record(z.string(), z.object({ value: z.unknown(), scope: z.string(), version: z.number().int().positive(), apply: z.enum(['live', 'restart']) })),
  reported: ReportedConfig.nullable(),
  /** The device reports this configuration in effect. */
  applied: z.boolean(),
});
export type DeviceConfigView = z.infer<typeof DeviceConfigView>;

/** GET /config/devices: per device, the configuration the hub sends and what the device reports. */
export const ConfigDeviceStatus = z.object({
  deviceId: DeviceId,
  tags: z.record(z.string(), z.string()),
  sha256: Sha256Hex.nullable(),
  sources: z.array(ConfigSource),
  reported: ReportedConfig.nullable(),
  applied: z.boolean(),
});
/** GET /config/devices: a page by device id, as GET /devices (DEVICE_PAGE); `next` is the ?after= of the following page. */
export const ConfigDeviceList = z.object({ devices: z.array(ConfigDeviceStatus), next: z.string().nullable() });
export type ConfigDeviceList = z.infer<typeof ConfigDeviceList>;

/**
 * Refuses remote settings the agent would refuse, naming the field: a setting that is the box's own
 * (CONFIG_NOT_REMOTE), no remote setting, or a value the agent's schema refuses (CONFIG_INVALID).
 */
export function checkRemoteSettings(flat: RemoteSettings): void {
  const keys = Object.keys(flat);
  if (keys.length > MAX_REMOTE_SETTINGS) throw new AppError('CONFIG_INVALID', `settings: expected at most ${MAX_REMOTE_SETTINGS}, got ${keys.length}`);
  for (const k of keys) assertRemoteKey(k);
  const r = AgentConfig.safeParse(overlaySettings({ dataDir: '/' }, flat));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.');
    // A rule over two fields (agent-settings.ts) names both values in its message; the field it is on may be one the document does not set.
    const got = flat[field] === undefined ? '' : ` (got ${JSON.stringify(flat[field])})`;
    throw new AppError('CONFIG_INVALID', `${field}: ${plainIssue(issue.message)}${got}`, { details: { field } });
  }
}
