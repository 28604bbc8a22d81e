// The agent's local APIs, built (not started) from its parts: REST (always) and OIP v2 gRPC (when
// api.grpc.enabled), sharing one metrics registry, one bound on request bytes held and the
// memory of predictions that labels may be posted for later (docs/agent.md).
import type { AgentConfig } from '../config.js';
import type { Db } from '../store/db.js';
import type { UpdateLockRepo } from '../store/update-lock-repo.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import type { PredictionRecorder } from '../runtime/recorder.js';
import type { ShadowRunner } from '../shadow/runner.js';
import type { SyncClient } from '../sync/client.js';
import type { Logger } from '../log.js';
import { PredictionMemory, type MemoryLimits } from '../feedback/memory.js';
import { groupedSave } from '../feedback/saver.js';
import { PredictionKeeper } from '../feedback/keep.js';
import { feedbackMetrics } from '../feedback/metrics.js';
import type { LabelSink } from '../feedback/route.js';
import { agentMetrics } from '../metrics.js';
import { runtimeMetrics } from '../runtime/metrics.js';
import { shadowMetrics } from '../shadow/metrics.js';
import { createApiHandler } from './handler.js';
import { ApiMetrics } from './metrics.js';
import { ApiServer } from './server.js';
import { InferCore } from './core.js';
import { RequestBudget } from './budget.js';
import { BurstGc } from './burst-gc.js';
import { createLocalRoutes } from './update-lock.js';
import type { GrpcApi } from './grpc/server.js';
import { WriteDeadline } from './write-deadline.js';
import { WaitingRequests } from './waiting.js';
import { ConnectionCaps } from './connection-cap.js';
import type { DiskFullState } from '../disk-full.js';

export interface ApiParts {
  config: AgentConfig;
  runtime: ModelRuntime;
  shadow: ShadowRunner;
  logger: Logger;
  /** The prediction recorder: labels are taken when it can record them (a replaced recorder takes none). */
  summaries: PredictionRecorder;
  db: Db;
  updateLock: UpdateLockRepo;
  sync: () => SyncClient | undefined;
  isReady: () => boolean;
  /** What the disk refuses now, on /v2/health and /metrics. */
  disk: DiskFullState;
  feedbackLimits: Partial<MemoryLimits> | undefined;
  now: () => number;
}

export async function buildApis(p: ApiParts): Promise<{ api: ApiServer; grpc: GrpcApi | undefined; keeper: PredictionKeeper | undefined }> {
  const { config, runtime, logger } = p;
  // A version's request series leave /metrics once it is no longer live (api/metrics.ts).
  const metrics = new ApiMetrics((model, version) => runtime.manifestFor(model, version) !== undefined);
  // Predictions with a request id, for labels posted later.
  const labels = 'recordLabel' in p.summaries ? (p.summaries as unknown as LabelSink) : undefined;
  const memory = labels ? new PredictionMemory(p.feedbackLimits, p.now) : undefined;
  // Kept in agent.db, so labels after a restart still find them (feedback/keep.ts).
  const keeper = memory ? startKeeper(p, memory) : undefined;
  // Request bytes held (bodies being read, parsed tensors waiting or running), over REST and gRPC: one
  // api.maxInflightBodyBytes for both (budget.ts).
  const inflight = new RequestBudget(config.api.maxInflightBodyBytes);
  // A burst of large bodies over either transport is followed by one collection (burst-gc.ts).
  const burstGc = new BurstGc(inflight);
  const onError = (err: unknown) => logger.error({ err }, 'request failed');
  // Answers a client does not take, over either transport: one deadline, one count and log (write-deadline.ts).
  const deadline = new WriteDeadline(config.api.writeTimeoutMs, (msg) => logger.warn(msg));
  // Requests waiting for a run slot when the stop's grace ends are answered NOT_READY, on both (waiting.ts).
  const waiting = new WaitingRequests(config.api.stopGraceMs);
  // Every listener's api.maxConnections, REST's and gRPC's: one set of series on /metrics (connection-cap.ts).
  const caps = new ConnectionCaps();
  const handler = createApiHandler({
    runtime,
    metrics,
    inflight,
    waiting,
    burstGc,
    maxBodyBytes: config.api.maxBodyBytes,
    maxInflightBodyBytes: config.api.maxInflightBodyBytes,
    allowedHosts: [config.api.host, ...config.api.allowedHosts],
    allowNonFinite: config.allowNonFinite,
    token: config.api.token,
    isReady: p.isReady,
    diskFull: () => p.disk.report(),
    onError,
    extraMetrics: () => agentMetrics(p.db, p.sync()) + runtimeMetrics(runtime) + shadowMetrics(p.shadow) + (memory ? feedbackMetrics(memory) : '') + inflight.metrics() + deadline.metrics() + caps.metrics() + p.disk.metrics(),
    // /edgefleet/v1/update-lock: a switch waits while the lock holds; a change is looked at at once.
    edgefleet: createLocalRoutes({ lock: p.updateLock, changed: () => p.sync()?.updater.recheck(), deferred: () => p.sync()?.updater.deferred() ?? [] }),
    // The checkpoint writes the rows' labelled marks in its transaction (agent.ts); the flush after it
    // writes them for a recorder that does not (nothing left for it otherwise).
    ...(memory && labels ? { feedback: { memory, sink: labels, saved: groupedSave(() => { labels.checkpoint?.(); keeper?.flush(); }) } } : {}),
  });
  const api = new ApiServer(handler, config.api, deadline, waiting, caps);
  const a = config.api;
  const g = a.grpc;
  if (!g.enabled) return { api, grpc: undefined, keeper };
  // Loaded only when enabled: grpc-js and the proto loader stay off the default daemon path (docs/performance.md).
  const { GrpcApi } = await import('./grpc/server.js');
  const grpc = new GrpcApi({ core: new InferCore({ runtime, metrics, allowNonFinite: config.allowNonFinite, budget: inflight, feedback: memory, waiting }), inflight, burstGc, isReady: p.isReady, onError, deadline, waiting, caps }, {
    host: a.host, port: g.port, socket: g.socket, socketGroup: a.socketGroup, maxConnections: a.maxConnections, maxConcurrentStreams: g.maxConcurrentStreams,
    maxCalls: g.maxCalls, maxBodyBytes: a.maxBodyBytes, requestTimeoutMs: a.requestTimeoutMs,
    idleTimeoutMs: Math.max(a.keepAliveTimeoutMs, a.headersTimeoutMs), writeTimeoutMs: a.writeTimeoutMs, stopGraceMs: a.stopGraceMs, token: a.token,
    rest: () => whereServed(() => `${api.url} (api.port)`, a.socket === undefined ? undefined : `the Unix socket ${a.socket} (api.socket)`),
  });
  // An HTTP/2 client given the REST port is told where gRPC is (./http2-refusal.ts).
  api.grpcWhere = () => whereServed(() => `${grpc.address} (api.grpc.port)`, g.socket === undefined ? undefined : `unix://${g.socket} (api.grpc.socket)`);
  return { api, grpc, keeper };
}

/**
 * Where the other transport is served, told to a client of the wrong one (grpc/first-bytes.ts,
 * ./http2-refusal.ts): its TCP address (`tcp` throws while not listening: a stop under way) and its socket.
 */
function whereServed(tcp: () => string, unix: string | undefined): string | undefined {
  let url: string | undefined;
  try {
    url = tcp();
  } catch {
    url = undefined;
  }
  return url && unix ? `${url} or ${unix}` : url ?? unix;
}

function startKeeper(p: ApiParts, memory: PredictionMemory): PredictionKeeper {
  const keeper = new PredictionKeeper(p.db, memory, { onError: (err) => p.logger.error({ err }, 'saving the predictions remembered for labels failed (kept in memory, written again every second)') });
  try {
    const r = keeper.start();
    if (r.restored + r.unreadable + r.forgotten > 0) p.logger.info(r, 'read back the predictions remembered for labels');
    if (r.unreadable > 0) p.logger.warn({ unreadable: r.unreadable }, 'deleted rows of feedback_predictions that are not predictions this agent wrote (damaged or foreign)');
  } catch (err) {
    p.logger.error({ err }, 'reading back the predictions remembered for labels failed: labels for predictions made before this start are answered unknown');
  }
  return keeper;
}
