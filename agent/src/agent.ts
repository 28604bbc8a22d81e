// Builds every part of a running agent from a config and its collaborators
// (no I/O in here until start()), so tests and benches can run an agent
// in-process. main.ts is the program's composition root around this.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Manifest } from '@edgefleet/shared';
import type { AgentConfig } from './config.js';
import { createApiHandler } from './api/handler.js';
import { ApiMetrics } from './api/metrics.js';
import { ApiServer } from './api/server.js';
import { ModelManager, type Pause } from './install/manager.js';
import { createLogger } from './log.js';
import type { ManifestLookup, PredictionRecorder } from './runtime/recorder.js';
import { ModelRuntime } from './runtime/runtime.js';
import { BlobStore } from './store/blobs.js';
import { openDb, type Db } from './store/db.js';
import { EventsRepo } from './store/events-repo.js';
import { ModelsRepo } from './store/models-repo.js';
import { TrustRepo } from './store/trust-repo.js';
import { SummaryStore } from './summaries/store.js';
import { SummaryRecorder } from './summaries/recorder.js';
import { Retention } from './summaries/retention.js';
import { AGENT_VERSION } from './version.js';

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
}

export interface Agent {
  readonly config: AgentConfig;
  readonly db: Db;
  readonly models: ModelsRepo;
  readonly trust: TrustRepo;
  readonly events: EventsRepo;
  readonly summaries: SummaryStore;
  readonly blobs: BlobStore;
  readonly runtime: ModelRuntime;
  readonly manager: ModelManager;
  readonly logger: Logger;
  /** The API base URL, e.g. http://127.0.0.1:8701 (after start). */
  readonly url: string;
  manifestFor(name: string, version: string): Manifest | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Store {
  db: Db;
  summaries: SummaryStore;
  events: EventsRepo;
  models: ModelsRepo;
  trust: TrustRepo;
  blobs: BlobStore;
}

/** Opens the data dir's database and repositories (used by the daemon and the CLI). */
export function openStore(dataDir: string, forwardEvents = true): Store {
  const db = openDb(join(dataDir, 'agent.db'));
  const summaries = new SummaryStore(db);
  const events = new EventsRepo(db, forwardEvents ? (e) => void summaries.addEvent(e) : undefined);
  return { db, summaries, events, models: new ModelsRepo(db), trust: new TrustRepo(db), blobs: new BlobStore(join(dataDir, 'blobs')) };
}

export function createAgent(config: AgentConfig, deps: AgentDeps = {}): Agent {
  const logger = deps.logger ?? createLogger(config.log.level);
  let store: Store | undefined;
  const need = () => {
    if (!store) throw new Error('agent is not started');
    return store;
  };
  const runtime = new ModelRuntime({ overrides: config.runtime, perModel: config.concurrency.perModel, queue: config.concurrency.queue });
  const manifestFor: ManifestLookup = (name, version) => runtime.manifestFor(name, version) ?? store?.models.getVersion(name, version)?.manifest;
  let manager: ModelManager | undefined;
  let api: ApiServer | undefined;
  let recorder: (PredictionRecorder & Partial<Part>) | undefined;
  let retention: Retention | undefined;
  let extra: Part[] = [];
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  let lastDataVersion = -1;
  let stopping: Promise<void> | undefined;
  let started = false;

  const agent: Agent = {
    config,
    get db() { return need().db; },
    get models() { return need().models; },
    get trust() { return need().trust; },
    get events() { return need().events; },
    get summaries() { return need().summaries; },
    get blobs() { return need().blobs; },
    runtime,
    get manager() {
      if (!manager) throw new Error('agent is not started');
      return manager;
    },
    logger,
    get url() {
      if (!api) throw new Error('agent is not started');
      return api.url;
    },
    manifestFor,
    async start() {
      started = true;
      store = openStore(config.dataDir);
      const s = store;
      await s.blobs.cleanTmp();
      manager = new ModelManager({ ...s, runtime, serving: true, agentVersion: deps.agentVersion ?? AGENT_VERSION, logger, pause: deps.pause });
      recorder = deps.recorder
        ? deps.recorder({ db: s.db, config, manifestFor, logger })
        : new SummaryRecorder({ sink: s.summaries, manifestOf: manifestFor, windowSec: config.summaries.windowSec, onError: (err) => logger.error({ err }, 'writing summary windows failed') });
      runtime.setRecorder(recorder);
      await recorder.start?.();
      if (!deps.recorder) {
        retention = new Retention({ db: s.db, budgetBytes: config.summaries.budgetBytes, onError: (err) => logger.error({ err }, 'summary retention failed') });
        retention.start();
      }
      await manager.loadActive();
      const handler = createApiHandler({
        runtime,
        metrics: new ApiMetrics(),
        maxBodyBytes: config.api.maxBodyBytes,
        allowNonFinite: config.allowNonFinite,
        token: config.api.token,
        isReady: () => ready,
        onError: (err) => logger.error({ err }, 'request failed'),
      });
      api = new ApiServer(handler, config.api.host, config.api.port);
      await api.start();
      const reconcileMs = deps.reconcileMs ?? 500;
      if (reconcileMs > 0) {
        lastDataVersion = s.db.pragma('data_version', { simple: true }) as number;
        timer = setInterval(() => {
          const dv = s.db.pragma('data_version', { simple: true }) as number;
          if (dv === lastDataVersion) return;
          lastDataVersion = dv;
          manager!.reconcile().catch((err: unknown) => logger.error({ err }, 'reconcile failed'));
        }, reconcileMs);
        timer.unref();
      }
      extra = deps.parts?.(agent) ?? [];
      for (const p of extra) await p.start();
      ready = true;
      logger.info({ api: api.url, models: runtime.names().map((n) => `${n}@${runtime.active(n)!.version}`) }, 'ready');
    },
    stop() {
      if (!started) return Promise.resolve();
      stopping ??= (async () => {
        ready = false;
        for (const p of [...extra].reverse()) await p.stop();
        if (timer) clearInterval(timer);
        await api?.stop(); // stop accepting; in-flight requests finish
        await runtime.stop();
        await recorder?.stop?.(); // writes the open summary window
        retention?.stop();
        store?.db.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
  return agent;
}
