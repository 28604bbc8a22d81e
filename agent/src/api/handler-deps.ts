// What the OIP REST handler (handler.ts, docs/agent.md) is built from: the runtime, metrics, body
// limits, the Host and token rules of docs/security.md and the agent's own routes.
import type { ApiMetrics } from './metrics.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import type { LocalRoutes } from './update-lock.js';
import type { PredictionMemory } from '../feedback/memory.js';
import type { FeedbackDeps } from '../feedback/http.js';
import type { RequestBudget } from './budget.js';
import type { BurstGc } from './burst-gc.js';
import type { DiskFullReport } from '../disk-full.js';
import type { WaitingRequests } from './waiting.js';

export interface ApiDeps {
  runtime: ModelRuntime;
  metrics: ApiMetrics;
  maxBodyBytes: number;
  /**
   * Request bytes held at once over all requests (bodies being read, parsed tensors waiting or running);
   * past it, OVERLOADED (before reading a body). The limit of `inflight` when that is given.
   */
  maxInflightBodyBytes: number;
  /** Host names accepted besides 127.0.0.1, localhost and [::1] (the bind address is added when it is not a wildcard). */
  allowedHosts: readonly string[];
  allowNonFinite: boolean;
  /** When set, clients not on loopback must send `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** False until every active model is loaded and warm. */
  isReady(): boolean;
  /** What the disk refuses now (null: nothing), added to the health answers as `diskFull`. */
  diskFull?(): DiskFullReport | null;
  onError?(err: unknown): void;
  /** The request bytes held, shared with the gRPC API so one limit holds over both (budget.ts). */
  inflight?: RequestBudget;
  /** Requests waiting for a run slot, shed when the stop's grace ends (waiting.ts); shared with the gRPC API. */
  waiting?: WaitingRequests;
  /** The collection after a burst of large bodies, shared with the gRPC API (burst-gc.ts); one of its own when absent. */
  burstGc?: BurstGc;
  /** More Prometheus series from other parts (the hub link, summaries). */
  extraMetrics?(): string;
  /** The agent's own routes under /edgefleet/v1 (api/update-lock.ts). */
  edgefleet?: LocalRoutes;
  /** Ground truth for earlier predictions (POST /edgefleet/v1/feedback); absent: that route is 404. */
  feedback?: FeedbackDeps & { memory: PredictionMemory };
}
