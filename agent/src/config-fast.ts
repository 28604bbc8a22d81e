// A zod-free check of the merged agent configuration for the daemon's start-up
// (docs/performance.md: zod and the wire schemas are ~20 MB of a standalone agent's
// RSS). It only ever accepts: for a config it is sure the schema in config.ts
// accepts, it returns exactly what the schema would return (defaults filled in);
// for anything else (a bad or unusual value, one past the bounds of config-bounds.ts, batch jobs, a broker
// URL) it returns undefined and the caller validates with the schema, which names the field.
// config-fast.test.ts holds it to the schema on generated configs.
import type { AgentConfig } from './config.js';
import { DEFAULT_GRPC_MAX_CALLS, DEFAULT_OUTBOX_MESSAGE_BYTES, MIN_OUTBOX_MESSAGE_BYTES, bodyBudgetProblem, grpcBufferProblem, MAX_BLOB_GET_BLOCKS, MAX_ORT_THREADS, MIN_SUMMARY_BUDGET_BYTES, MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES, MAX_STOP_GRACE_MS, MAX_TIMER_MS, MAX_WINDOW_SEC, MIN_RATE_PER_SEC, DEFAULT_REMOVED_KEEP_SEC, MIN_REMOVED_KEEP_SEC, MAX_REMOVED_KEEP_SEC, DEFAULT_KEEPALIVE_SEC, MAX_KEEPALIVE_SEC, SETTING_MAX, FETCH_BLOCKED_PORTS } from '@edgefleet/shared/core';
import { MAX_BATCH_SIZE, MAX_QUEUE_DELAY_US } from './runtime/batching.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (o: Obj, keys: readonly string[]): boolean => Object.keys(o).every((k) => keys.includes(k));
const int = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
/** A count or size from `min` to its SETTING_MAX (shared/src/agent-settings.ts). */
const upTo = (key: keyof typeof SETTING_MAX, min = 1) => (v: unknown): v is number => int(v, min, SETTING_MAX[key]);
/** A duration in ms (config-bounds.ts): a timer past MAX_TIMER_MS fires after 1 ms. */
const timerMs = (v: unknown): v is number => int(v, 1, MAX_TIMER_MS);
/** A rate per second (config-bounds.ts), at least MIN_RATE_PER_SEC. */
const rate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= MIN_RATE_PER_SEC;

/** Marks "not accepted here" inside the section checks. */
class No extends Error {}
const no = (): never => {
  throw new No();
};

/** `value` when given and accepted by `ok`, `dflt` when absent, else no(). */
function field<T>(o: Obj, key: string, ok: (v: unknown) => boolean, dflt: T): T {
  const v = o[key];
  if (v === undefined) return dflt;
  return ok(v) ? (v as T) : no();
}

/** A section: absent gives `absent()` (zod's default / prefault), present must be a strict object. */
function section<T>(v: unknown, keys: readonly string[], absent: () => T, read: (o: Obj) => T): T {
  if (v === undefined) return absent();
  if (!isObj(v) || !onlyKeys(v, keys)) no();
  return read(v as Obj);
}

const GRAPH = ['disabled', 'basic', 'extended', 'all'];
const BACKENDS = ['native', 'wasm', 'auto'];
const BATCHING = ['off', 'on', 'auto'];
const RUNTIME_KEYS = ['intraOpThreads', 'interOpThreads', 'spinning', 'graphOptimization', 'backend', 'batching', 'maxBatchSize', 'maxQueueDelayUs'];
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const TOP = ['dataDir', 'api', 'runtime', 'concurrency', 'summaries', 'batch', 'sync', 'capture', 'allowNonFinite', 'log'];

const API_DEFAULTS = {
  host: '127.0.0.1', port: 8701, maxBodyBytes: 16 * 1024 * 1024, allowedHosts: [] as string[], maxConnections: 256,
  maxInflightBodyBytes: 64 * 1024 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, writeTimeoutMs: 30_000,
  stopGraceMs: 2_000,
};
const API_KEYS = [...Object.keys(API_DEFAULTS), 'token', 'socket', 'socketGroup', 'grpc'];
const GRPC_DEFAULTS = { enabled: false, port: 8702, maxConcurrentStreams: 32, maxCalls: DEFAULT_GRPC_MAX_CALLS };
const str = (v: unknown): v is string => typeof v === 'string' && v.length >= 1;

function grpc(o: Obj): AgentConfig['api']['grpc'] {
  const d = GRPC_DEFAULTS;
  const out: AgentConfig['api']['grpc'] = {
    enabled: field(o, 'enabled', (v) => typeof v === 'boolean', d.enabled),
    port: field(o, 'port', (v) => int(v, 0, 65535), d.port),
    maxConcurrentStreams: field(o, 'maxConcurrentStreams', upTo('api.grpc.maxConcurrentStreams'), d.maxConcurrentStreams),
    maxCalls: field(o, 'maxCalls', upTo('api.grpc.maxCalls'), d.maxCalls),
  };
  const socket = field<string | undefined>(o, 'socket', str, undefined);
  if (socket !== undefined) out.socket = socket;
  return out;
}

function api(o: Obj): AgentConfig['api'] {
  const d = API_DEFAULTS;
  const token = field<string | undefined>(o, 'token', (v) => typeof v === 'string' && v.length >= 8, undefined);
  const out: AgentConfig['api'] = {
    host: field(o, 'host', (v) => typeof v === 'string' && v.length >= 1, d.host),
    // A port fetch refuses goes to the schema, which names it (shared/src/fetch-ports.ts).
    port: field(o, 'port', (v) => int(v, 0, 65535) && !FETCH_BLOCKED_PORTS.has(v), d.port),
    maxBodyBytes: field(o, 'maxBodyBytes', upTo('api.maxBodyBytes'), d.maxBodyBytes),
    // Host names are left to the schema (string rules): none is the common case.
    allowedHosts: o.allowedHosts === undefined || (Array.isArray(o.allowedHosts) && o.allowedHosts.length === 0) ? [] : no(),
    maxConnections: field(o, 'maxConnections', upTo('api.maxConnections'), d.maxConnections),
    maxInflightBodyBytes: field(o, 'maxInflightBodyBytes', upTo('api.maxInflightBodyBytes'), d.maxInflightBodyBytes),
    headersTimeoutMs: field(o, 'headersTimeoutMs', timerMs, d.headersTimeoutMs),
    requestTimeoutMs: field(o, 'requestTimeoutMs', timerMs, d.requestTimeoutMs),
    keepAliveTimeoutMs: field(o, 'keepAliveTimeoutMs', timerMs, d.keepAliveTimeoutMs),
    writeTimeoutMs: field(o, 'writeTimeoutMs', timerMs, d.writeTimeoutMs),
    stopGraceMs: field(o, 'stopGraceMs', (v) => int(v, 0, MAX_STOP_GRACE_MS), d.stopGraceMs),
    grpc: section(o.grpc, ['enabled', 'port', 'socket', 'maxConcurrentStreams', 'maxCalls'], () => ({ ...GRPC_DEFAULTS }), grpc),
  };
  // More gRPC messages than the schema lets grpc-js hold: left to it, which names the fields.
  if (grpcBufferProblem(out)) no();
  // api.maxBodyBytes past the request budget (a limit never applied): left to the schema, which names both.
  if (bodyBudgetProblem(out)) no();
  if (token !== undefined) out.token = token;
  const socket = field<string | undefined>(o, 'socket', str, undefined);
  if (socket !== undefined) out.socket = socket;
  const socketGroup = field<string | undefined>(o, 'socketGroup', str, undefined);
  if (socketGroup !== undefined) out.socketGroup = socketGroup;
  return out;
}

function runtime(o: Obj): AgentConfig['runtime'] {
  const r: AgentConfig['runtime'] = {};
  if (o.intraOpThreads !== undefined) r.intraOpThreads = int(o.intraOpThreads, 1, MAX_ORT_THREADS) ? o.intraOpThreads : no();
  if (o.interOpThreads !== undefined) r.interOpThreads = int(o.interOpThreads, 1, MAX_ORT_THREADS) ? o.interOpThreads : no();
  if (o.spinning !== undefined) r.spinning = typeof o.spinning === 'boolean' ? o.spinning : no();
  if (o.graphOptimization !== undefined) r.graphOptimization = GRAPH.includes(o.graphOptimization as string) ? (o.graphOptimization as AgentConfig['runtime']['graphOptimization']) : no();
  if (o.backend !== undefined) r.backend = BACKENDS.includes(o.backend as string) ? (o.backend as AgentConfig['runtime']['backend']) : no();
  if (o.batching !== undefined) r.batching = BATCHING.includes(o.batching as string) ? (o.batching as AgentConfig['runtime']['batching']) : no();
  if (o.maxBatchSize !== undefined) r.maxBatchSize = int(o.maxBatchSize, 1, MAX_BATCH_SIZE) ? o.maxBatchSize : no();
  if (o.maxQueueDelayUs !== undefined) r.maxQueueDelayUs = int(o.maxQueueDelayUs, 0, MAX_QUEUE_DELAY_US) ? o.maxQueueDelayUs : no();
  return r;
}

const outboxOf = (o: Obj): AgentConfig['sync']['outbox'] => ({
  batchSize: field(o, 'batchSize', upTo('sync.outbox.batchSize'), 50),
  messagesPerSec: field(o, 'messagesPerSec', (v) => rate(v) && v <= SETTING_MAX['sync.outbox.messagesPerSec'], 20),
  maxMessageBytes: field(o, 'maxMessageBytes', upTo('sync.outbox.maxMessageBytes', MIN_OUTBOX_MESSAGE_BYTES), DEFAULT_OUTBOX_MESSAGE_BYTES),
  resendAfterMs: field(o, 'resendAfterMs', timerMs, 15_000),
});
const OUTBOX = ['batchSize', 'messagesPerSec', 'maxMessageBytes', 'resendAfterMs'];

const syncOf = (o: Obj): AgentConfig['sync'] => ({
  // brokerUrl is left to the schema (URL rules): its presence means "not here".
  blockSize: field(o, 'blockSize', (v) => int(v, 1024, 1024 * 1024), 1024 * 1024),
  window: field(o, 'window', (v) => int(v, 1, MAX_BLOB_GET_BLOCKS), 8),
  reconnectMs: field(o, 'reconnectMs', timerMs, 2000),
  keepaliveSec: field(o, 'keepaliveSec', (v) => int(v, 1, MAX_KEEPALIVE_SEC), DEFAULT_KEEPALIVE_SEC),
  removedKeepSec: field(o, 'removedKeepSec', (v) => int(v, MIN_REMOVED_KEEP_SEC, MAX_REMOVED_KEEP_SEC), DEFAULT_REMOVED_KEEP_SEC),
  outbox: section(o.outbox, OUTBOX, () => outboxOf({}), outboxOf),
});

const captureOf = (o: Obj): AgentConfig['capture'] => ({
  budgetBytes: field(o, 'budgetBytes', (v) => int(v, 64 * 1024, 1024 * 1024 * 1024), 16 * 1024 * 1024),
  chunkBytes: field(o, 'chunkBytes', (v) => int(v, MIN_CAPTURE_CHUNK_BYTES, MAX_CAPTURE_CHUNK_BYTES), 64 * 1024),
  flushSec: field(o, 'flushSec', (v) => int(v, 1, 300), 5),
  uploadsPerSec: field(o, 'uploadsPerSec', (v) => rate(v) && v <= 100, 2),
});

/** The validated config, or undefined: then validate with config.ts (which names what is wrong). */
export function fastConfig(merged: Obj): AgentConfig | undefined {
  try {
    if (!onlyKeys(merged, TOP)) return undefined;
    const dataDir = merged.dataDir;
    if (typeof dataDir !== 'string' || dataDir.length < 1) return undefined;
    const config: AgentConfig = {
      dataDir,
      api: section<AgentConfig['api']>(merged.api, API_KEYS, () => ({ ...API_DEFAULTS, allowedHosts: [], grpc: { ...GRPC_DEFAULTS } }), api),
      runtime: section(merged.runtime, RUNTIME_KEYS, () => ({}), runtime),
      concurrency: section(merged.concurrency, ['perModel', 'queue'], () => ({ perModel: 4, queue: 64 }), (o) => ({
        perModel: field(o, 'perModel', upTo('concurrency.perModel'), 4),
        queue: field(o, 'queue', upTo('concurrency.queue', 0), 64),
      })),
      summaries: section(merged.summaries, ['windowSec', 'budgetBytes', 'checkpointSec'], () => ({ windowSec: 60, budgetBytes: 64 * 1024 * 1024, checkpointSec: 5 }), (o) => ({
        windowSec: field(o, 'windowSec', (v) => int(v, 1, MAX_WINDOW_SEC), 60),
        budgetBytes: field(o, 'budgetBytes', upTo('summaries.budgetBytes', MIN_SUMMARY_BUDGET_BYTES), 64 * 1024 * 1024),
        checkpointSec: field(o, 'checkpointSec', upTo('summaries.checkpointSec', 0), 5),
      })),
      // Batch jobs are left to the schema (it names each field of a job); none is the common case.
      batch: section(merged.batch, ['jobs'], () => ({ jobs: [] }), (o) => ({ jobs: o.jobs === undefined || (Array.isArray(o.jobs) && o.jobs.length === 0) ? [] : no() })),
      sync: section(merged.sync, ['blockSize', 'window', 'reconnectMs', 'keepaliveSec', 'removedKeepSec', 'outbox'], () => syncOf({}), syncOf),
      capture: section(merged.capture, ['budgetBytes', 'chunkBytes', 'flushSec', 'uploadsPerSec'], () => captureOf({}), captureOf),
      allowNonFinite: field(merged, 'allowNonFinite', (v) => typeof v === 'boolean', false),
      log: section(merged.log, ['level'], () => ({ level: 'info' as const }), (o) => ({ level: field(o, 'level', (v) => LEVELS.includes(v as string), 'info' as AgentConfig['log']['level']) })),
    };
    return config;
  } catch (err) {
    if (err instanceof No) return undefined;
    throw err;
  }
}
