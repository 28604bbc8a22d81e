// The shapes around createAgent() (agent.ts, docs/architecture.md): a part with a lifecycle, what a
// replacement summaries recorder is given, the agent's optional collaborators and the running agent.
import type { AppError } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { AgentConfig } from './config.js';
import type { MemoryLimits } from './feedback/memory.js';
import type { ModelManager } from './install/manager.js';
import type { Pause } from './install/pause.js';
import type { Logger } from './log.js';
import type { PolicyGuard } from './policy/guard.js';
import type { ManifestLookup, PredictionRecorder } from './runtime/recorder.js';
import type { ModelRuntime } from './runtime/runtime.js';
import type { ShadowLimits, ShadowRunner } from './shadow/runner.js';
import type { Db } from './store/db.js';
import type { Store } from './store/agent-store.js';
import type { SyncClient } from './sync/client.js';
import type { StoredRemoteConfig } from './config-remote.js';
import type { ConfigApplier } from './sync/config-apply.js';

/** Anything with a lifecycle. */
export interface Part {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface RecorderContext {
  db: Db;
  config: AgentConfig;
  manifestFor: ManifestLookup;
  logger: Logger;
}

export interface AgentDeps {
  logger?: Logger;
  /** Replaces the summaries recorder (e.g. a no-op for benches). Its start/stop, if any, are called. */
  recorder?: (ctx: RecorderContext) => PredictionRecorder & Partial<Part>;
  /** Extra parts started after the API (e.g. the hub link); stopped first. */
  parts?: (agent: Agent) => Part[];
  pause?: Pause;
  /** How often the daemon checks the DB for switches made by the CLI (default 500 ms; 0 = never). */
  reconcileMs?: number;
  agentVersion?: string;
  /** Set false to never start the hub link, even when DATA/credentials.json exists. */
  sync?: boolean;
  /** Time for summaries, retention and the hub link (tests simulate days offline); default the wall clock. */
  clock?: { now(): number };
  /** How often retention checks the budget (default 60 s). */
  retentionIntervalMs?: number;
  /** How often the WAL keeper checks agent.db's WAL (default 10 s). */
  walIntervalMs?: number;
  /**
   * Remote configuration (docs/agent.md "Remote configuration"): the merged local config before remote
   * settings (default: `config`), the stored remote settings `config` was built with, and what restarts
   * the agent for a setting that needs it (main.ts; absent: the agent reports "restarting" and waits).
   */
  localConfig?: Record<string, unknown>;
  remoteConfig?: StoredRemoteConfig;
  restart?: () => void;
  /** A restart asked for and still waiting its turn is not needed any more (main.ts: RestartGate.withdraw). */
  withdrawRestart?: () => void;
  /**
   * Called once the active models are loaded at start, before the API listens and the hub link starts;
   * what it throws fails the start (main.ts: new runtime settings with which a model did not load).
   * `loadsWith` loads a model's active version with other runtime settings, in a runtime of its own, and
   * releases it: undefined when it loads, else why not (config-start.ts).
   */
  modelsLoaded?: (agent: Agent, loadsWith: (name: string, runtime: AgentConfig['runtime'], version?: string) => Promise<AppError | undefined>,
    fellBack: Pick<ModelManager, 'fellBack' | 'undoFallback'>) => void | Promise<void>;
  /** How often a deferred switch (update lock, maintenance window), or a desired document refused by the box's clock, is looked at again at most (default 30 s). */
  deferCheckMs?: number;
  /** While a version waits for room on a full disk, how often the free room is looked at (default 30 s; sync/disk-wait.ts). */
  diskWaitCheckMs?: number;
  /** Bounds of the predictions remembered for labels (docs/agent.md "Feedback"; tests hit them). */
  feedbackLimits?: Partial<MemoryLimits>;
  /** Bounds of shadow evaluation (default SHADOW_LIMITS; tests make the queue small). */
  shadowLimits?: Partial<ShadowLimits>;
}

export interface Agent {
  readonly config: AgentConfig;
  readonly db: Db;
  readonly models: Store['models'];
  readonly trust: Store['trust'];
  readonly events: Store['events'];
  readonly summaries: Store['summaries'];
  readonly blobs: Store['blobs'];
  readonly runtime: ModelRuntime;
  /** Candidates run in shadow beside the active versions (docs/agent.md "Shadow evaluation"). */
  readonly shadow: ShadowRunner;
  readonly manager: ModelManager;
  readonly logger: Logger;
  /** The hub link, when the box is enrolled (DATA/credentials.json) and after start. */
  readonly sync: SyncClient | undefined;
  /** Applies remote configuration from the hub (enrolled boxes, after start). */
  readonly remoteConfig: ConfigApplier | undefined;
  /** Watches each new version against its manifest policy and rolls back on a breach (every box; after start). */
  readonly policy: PolicyGuard | undefined;
  /** The API base URL, e.g. http://127.0.0.1:8701 (after start). */
  readonly url: string;
  /** host:port of the gRPC API when api.grpc.enabled (after start). */
  readonly grpcAddress: string | undefined;
  manifestFor(name: string, version: string): Manifest | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}
