// Which agent settings a hub may set remotely, and how the agent takes each (docs/agent.md "Remote
// configuration", docs/decisions/0036-agent-config-in-desired-state.md). A remote setting is named by its
// dotted path in the agent's config (`summaries.windowSec`); its value is checked by the agent's own
// schema (wire/agent-config.ts), at the hub and again on the box. No zod here: the daemon's start-up
// overlays the last applied remote settings before it validates (config-fast.ts).
import { AppError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { createHash } from 'node:crypto';
import { closest } from './cli/suggest.js';

/** capture.chunkBytes at most: the hub's capture.maxChunkBytes must take a chunk this large once sealed. */
export const MAX_CAPTURE_CHUNK_BYTES = 96 * 1024;
/** capture.chunkBytes at least, and the least a hub asks of its boxes (a desired capture's chunkBytes). */
export const MIN_CAPTURE_CHUNK_BYTES = 4096;
/**
 * sync.outbox.maxMessageBytes by default and at least: the largest telemetry or events message an agent
 * sends. A hub's maxPayloadBytes must take it, or its broker refuses the agents' batches (docs/hub.md "Config").
 */
export const DEFAULT_OUTBOX_MESSAGE_BYTES = 192 * 1024;
export const MIN_OUTBOX_MESSAGE_BYTES = 1024;
/** Most blocks one blob/get asks of the hub (wire/blob.ts), so sync.window at most. */
export const MAX_BLOB_GET_BLOCKS = 64;
/** Rows per batched run at most (runtime.maxBatchSize). */
export const MAX_BATCH_SIZE = 1024;
/** runtime.maxQueueDelayUs at most. */
export const MAX_QUEUE_DELAY_US = 1_000_000;
/**
 * runtime.intraOpThreads and interOpThreads at most: more threads than an edge box has cores only cost.
 * A remote 100000 kept every box creating its onnxruntime session for minutes, its memory growing by
 * GBs and its event loop deaf to SIGTERM (docs/agent.md "Configuration").
 */
export const MAX_ORT_THREADS = 64;
/**
 * summaries.budgetBytes at least (64 KiB, as capture.budgetBytes): past its budget a box merges, then drops
 * its oldest windows, unsent ones included (docs/agent-summaries.md "Retention"); a remote 64 meant as MiB
 * made every box drop its backlog at once.
 */
export const MIN_SUMMARY_BUDGET_BYTES = 64 * 1024;
/**
 * A duration in ms at most (api.*TimeoutMs, sync.reconnectMs, sync.outbox.resendAfterMs): Node's longest
 * timer; a setTimeout or setInterval past it fires after 1 ms (https://nodejs.org/api/timers.html).
 */
export const MAX_TIMER_MS = 2_147_483_647;
/** A send rate at least (sync.outbox.messagesPerSec, capture.uploadsPerSec): one per 1000 s, so a token bucket's wait fits a timer. */
export const MIN_RATE_PER_SEC = 0.001;
/**
 * summaries.windowSec at most: a day, the coarsest window the agent's compaction makes
 * (agent/src/summaries/retention-groups.ts); the hub refuses windows past its ingest.maxLengthSec (31 days).
 */
export const MAX_WINDOW_SEC = 86_400;
/**
 * api.stopGraceMs at most: what the agent's stop budget gives the API's stop step (agent/src/agent.ts
 * STOP_MS.api adds the closing of connections; it runs beside the hub link's step, docs/agent.md "Stopping").
 */
export const MAX_STOP_GRACE_MS = 4_000;

/**
 * Upper bounds of the agent's counts and sizes (docs/agent.md "Configuration", docs/decisions/
 * 0119-agent-settings-upper-bounds.md): each far above what a box is given by default and below what would
 * exhaust one (memory, file descriptors, threads, the hub's broker). Before them a remote
 * api.maxBodyBytes=1e12 or concurrency.queue=1e9 was taken and sent to every box.
 */
export const SETTING_MAX = {
  /** api.maxBodyBytes: one request body (16 MiB by default); also the largest gRPC message grpc-js holds whole. */
  'api.maxBodyBytes': 256 * 1024 * 1024,
  /** api.maxInflightBodyBytes: request bytes held at once over all requests (64 MiB by default). */
  'api.maxInflightBodyBytes': 1024 * 1024 * 1024,
  /** api.maxConnections: open connections per listener, each a file descriptor and its buffers (256 by default). */
  'api.maxConnections': 4096,
  /** api.grpc.maxConcurrentStreams: HTTP/2 streams at once per connection (32 by default). */
  'api.grpc.maxConcurrentStreams': 1024,
  /** api.grpc.maxCalls: gRPC calls in progress at once (16 by default). */
  'api.grpc.maxCalls': 1024,
  /** concurrency.perModel: onnxruntime runs at once per model, each with its threads (4 by default). */
  'concurrency.perModel': 64,
  /** concurrency.queue: requests waiting per model (64 by default). */
  'concurrency.queue': 4096,
  /** summaries.budgetBytes: disk for summary windows (64 MiB by default). */
  'summaries.budgetBytes': 16 * 1024 * 1024 * 1024,
  /** summaries.checkpointSec: a day, as summaries.windowSec (its timer in ms fits Node's). */
  'summaries.checkpointSec': 86_400,
  /** sync.outbox.batchSize: windows or events per message (50 by default; the outbox reads 4 times it at once). */
  'sync.outbox.batchSize': 1000,
  /** sync.outbox.messagesPerSec: messages per second to the hub's broker while a backlog drains (20 by default). */
  'sync.outbox.messagesPerSec': 1000,
  /** sync.outbox.maxMessageBytes: one MQTT message (192 KiB by default); a hub refuses more than its maxPayloadBytes. */
  'sync.outbox.maxMessageBytes': 16 * 1024 * 1024,
} as const;

/** api.grpc.maxCalls unless configured: gRPC calls in progress at once over all connections. */
export const DEFAULT_GRPC_MAX_CALLS = 16;
/**
 * With gRPC on, api.grpc.maxCalls × api.maxBodyBytes at most this many times api.maxInflightBodyBytes.
 * grpc-js reads each message whole before the agent sees it, and its public API gives no way to count a
 * message while it arrives, so the gRPC messages held at once are bounded by the calls in progress times
 * the largest message, not by the REST budget: this keeps that bound a stated multiple of it (docs/agent.md
 * "Limits": REST and gRPC together at most 1 + 4 = 5 × api.maxInflightBodyBytes; 64 + 16 × 16 = 320 MiB with
 * the defaults).
 */
export const GRPC_BUFFER_FACTOR = 4;

const mib = (n: number): string => (n % 1048576 === 0 ? `${n / 1048576} MiB` : `${n} bytes`);

/**
 * Why the gRPC messages a configuration lets grpc-js hold at once are refused (past GRPC_BUFFER_FACTOR ×
 * api.maxInflightBodyBytes), or undefined: always when gRPC is off. Checked by the schema
 * (wire/agent-config.ts, on api.grpc.maxCalls) and the agent's quick check (config-fast.ts).
 */
export function grpcBufferProblem(api: { maxBodyBytes: number; maxInflightBodyBytes: number; grpc: { enabled: boolean; maxCalls: number } }): string | undefined {
  if (!api.grpc.enabled) return undefined;
  const held = api.grpc.maxCalls * api.maxBodyBytes;
  const limit = GRPC_BUFFER_FACTOR * api.maxInflightBodyBytes;
  if (held <= limit) return undefined;
  return `api.grpc.maxCalls × api.maxBodyBytes is ${api.grpc.maxCalls} × ${mib(api.maxBodyBytes)} = ${mib(held)} of gRPC messages grpc-js may hold at once; `
    + `expected at most ${GRPC_BUFFER_FACTOR} × api.maxInflightBodyBytes = ${mib(limit)}: lower api.grpc.maxCalls (at most ${Math.floor(limit / api.maxBodyBytes)} here) `
    + 'or api.maxBodyBytes, or raise api.maxInflightBodyBytes';
}

/**
 * Why api.maxBodyBytes is refused beside api.maxInflightBodyBytes, or undefined. A body larger than the
 * request budget can never be read, whatever else is held: REST and gRPC answer it 413 naming
 * api.maxInflightBodyBytes, so a larger api.maxBodyBytes is a limit the box never applies (decision 0119's
 * addendum). Checked by the schema (wire/agent-config.ts, on api.maxBodyBytes) and config-fast.ts.
 */
export function bodyBudgetProblem(api: { maxBodyBytes: number; maxInflightBodyBytes: number }): string | undefined {
  if (api.maxBodyBytes <= api.maxInflightBodyBytes) return undefined;
  return `api.maxBodyBytes is ${mib(api.maxBodyBytes)}, more than api.maxInflightBodyBytes = ${mib(api.maxInflightBodyBytes)} of requests held at once: `
    + 'a body between the two could never be read (413); expected api.maxBodyBytes at most api.maxInflightBodyBytes: '
    + 'lower api.maxBodyBytes or raise api.maxInflightBodyBytes';
}

/**
 * sync.keepaliveSec: the MQTT keepalive the agent asks for. A link that goes silent without a FIN or RST
 * (a NAT that forgot it, a cable pulled mid-path) is noticed by the agent within 1.5 times it and by
 * the hub's broker within 1.5 times it too (docs/agent.md "Connecting to a hub"). 1 s to an hour.
 */
export const DEFAULT_KEEPALIVE_SEC = 30;
export const MAX_KEEPALIVE_SEC = 3_600;

/** sync.removedKeepSec: 7 days unless configured, an hour to 90 days (decision 0066: files kept, deleted late). */
export const DEFAULT_REMOVED_KEEP_SEC = 604_800;
export const MIN_REMOVED_KEEP_SEC = 3_600;
export const MAX_REMOVED_KEEP_SEC = 7_776_000;

/** live: the running part takes the new value; restart: the agent stops cleanly and exits with RESTART_EXIT_CODE. */
export type SettingApply = 'live' | 'restart';

/** Settings a remote document may set, and how each is applied. Anything else is refused at the hub. */
export const REMOTE_SETTINGS: Readonly<Record<string, SettingApply>> = {
  'summaries.windowSec': 'live',
  'summaries.checkpointSec': 'live',
  'summaries.budgetBytes': 'live',
  'sync.outbox.batchSize': 'live',
  'sync.outbox.messagesPerSec': 'live',
  'sync.outbox.maxMessageBytes': 'live',
  'sync.outbox.resendAfterMs': 'live',
  // Read at each removal: it sets the keep time of the removals made after it.
  'sync.removedKeepSec': 'live',
  'concurrency.perModel': 'live',
  'concurrency.queue': 'live',
  'log.level': 'live',
  // The session options, the HTTP and gRPC servers and the MQTT client are built with these: the agent
  // restarts to take them.
  'runtime.intraOpThreads': 'restart',
  'runtime.interOpThreads': 'restart',
  'runtime.spinning': 'restart',
  'runtime.graphOptimization': 'restart',
  'runtime.backend': 'restart',
  'runtime.batching': 'restart',
  'runtime.maxBatchSize': 'restart',
  'runtime.maxQueueDelayUs': 'restart',
  'api.maxBodyBytes': 'restart',
  'api.maxConnections': 'restart',
  'api.maxInflightBodyBytes': 'restart',
  'api.headersTimeoutMs': 'restart',
  'api.requestTimeoutMs': 'restart',
  'api.keepAliveTimeoutMs': 'restart',
  'api.writeTimeoutMs': 'restart',
  'api.stopGraceMs': 'restart',
  'api.grpc.maxConcurrentStreams': 'restart',
  'api.grpc.maxCalls': 'restart',
  'sync.blockSize': 'restart',
  'sync.window': 'restart',
  'sync.reconnectMs': 'restart',
  'sync.keepaliveSec': 'restart',
  'allowNonFinite': 'restart',
};

/** Settings that are the box's own and never come from a hub, with the reason given when one is refused. */
export const NEVER_REMOTE: Readonly<Record<string, string>> = {
  dataDir: 'the data directory is chosen on the box',
  'api.host': 'the local API\'s binding is chosen on the box',
  'api.port': 'the local API\'s binding is chosen on the box',
  'api.socket': 'socket paths are chosen on the box',
  'api.socketGroup': 'who may call the local API is decided on the box',
  'api.allowedHosts': 'who may call the local API is decided on the box',
  'api.token': 'a credential is never sent in a desired document',
  'api.grpc.enabled': 'the local API\'s listeners are chosen on the box',
  'api.grpc.port': 'the local API\'s binding is chosen on the box',
  'api.grpc.socket': 'socket paths are chosen on the box',
  'sync.brokerUrl': 'the box\'s link to its hub is not changed by the hub',
  'batch.jobs': 'batch jobs name files on the box to read and write',
};

/** Exit code of a clean stop for a restart the configuration asked for (EX_TEMPFAIL; the systemd unit's Restart=always brings the agent back). */
export const RESTART_EXIT_CODE = 75;

/** Remote settings at most in one document. */
export const MAX_REMOTE_SETTINGS = 64;

/** A flat remote document: dotted setting path → value. */
export type RemoteSettings = Record<string, unknown>;

/**
 * Refuses a setting a remote document may not carry, by name: CONFIG_NOT_REMOTE for the box's own
 * settings (and sections holding them), CONFIG_INVALID for a name that is no setting.
 */
export function assertRemoteKey(key: string): SettingApply {
  const apply = REMOTE_SETTINGS[key];
  if (apply) return apply;
  for (const [never, why] of Object.entries(NEVER_REMOTE)) {
    if (key === never || key.startsWith(`${never}.`) || never.startsWith(`${key}.`)) {
      throw new AppError('CONFIG_NOT_REMOTE', `${key}: may not be set remotely (${why}); remote settings: ${Object.keys(REMOTE_SETTINGS).join(', ')}`, { details: { field: key } });
    }
  }
  const guess = closest(key, Object.keys(REMOTE_SETTINGS));
  throw new AppError('CONFIG_INVALID', `${key}: not a remote setting;${guess ? ` did you mean "${guess}"?` : ''} expected one of ${Object.keys(REMOTE_SETTINGS).join(', ')}`, { details: { field: key } });
}

/** The nested config object a flat document stands for ({"a.b": 1} → {a: {b: 1}}). */
export function nestSettings(flat: RemoteSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) {
      const next = o[p];
      o = (o[p] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    o[parts[parts.length - 1]!] = value;
  }
  return out;
}

/** `base` with `flat` laid over it, per setting (neither is changed). */
export function overlaySettings(base: Record<string, unknown>, flat: RemoteSettings): Record<string, unknown> {
  const merge = (a: unknown, b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = typeof a === 'object' && a !== null && !Array.isArray(a) ? { ...(a as Record<string, unknown>) } : {};
    for (const [k, v] of Object.entries(b)) {
      out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? merge(out[k], v as Record<string, unknown>) : v;
    }
    return out;
  };
  return merge(base, nestSettings(flat));
}

/** The value at a dotted path of a config object, or undefined. */
export function settingAt(config: unknown, key: string): unknown {
  let o: unknown = config;
  for (const p of key.split('.')) {
    if (typeof o !== 'object' || o === null) return undefined;
    o = (o as Record<string, unknown>)[p];
  }
  return o;
}

/** The identity of a set of remote settings: hex sha256 of their canonical JSON. */
export function settingsHash(flat: RemoteSettings): string {
  return createHash('sha256').update(canonicalJson(flat)).digest('hex');
}

/** One scope's document as a layer: later layers win, per setting. */
export interface SettingsLayer { scope: string; version: number; settings: RemoteSettings }

/** Layers in order (fleet, tags, device): the settings and, per setting, the layer it came from. */
export function layerSettings(layers: readonly SettingsLayer[]): { settings: RemoteSettings; from: Record<string, { scope: string; version: number }> } {
  const settings: RemoteSettings = {};
  const from: Record<string, { scope: string; version: number }> = {};
  for (const l of layers) {
    for (const [k, v] of Object.entries(l.settings)) {
      settings[k] = v;
      from[k] = { scope: l.scope, version: l.version };
    }
  }
  return { settings, from };
}
