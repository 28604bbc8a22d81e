// Builds every part of a running agent from a config and its collaborators
// (no I/O in here until start()), so tests and benches can run an agent
// in-process. main.ts is the program's composition root around this.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AppError, verifyTrustDocument, type Manifest } from '@edgefleet/shared';
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
import { BatchScheduler } from './batch/scheduler.js';
import { runtimeModel } from './batch/run.js';
import type { SyncClient } from './sync/client.js';
import { readCredentials } from './sync/credentials.js';
import { teeRecorder } from './sync/policy.js';
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
  /** Set false to never start the hub link, even when DATA/credentials.json exists. */
  sync?: boolean;
  /** Time for summaries, retention and the hub link (tests simulate days offline); default the wall clock. */
  clock?: { now(): number };
  /** How often retention checks the budget (default 60 s). */
  retentionIntervalMs?: number;
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
  /** The hub link, when the box is enrolled (DATA/credentials.json) and after start. */
  readonly sync: SyncClient | undefined;
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
  /** The hub link when DATA/credentials.json exists; first provisions trust from DATA/trust.json if the DB has none. */
  const createSync = async (s: Store, m: ModelManager, agentVersion: string): Promise<SyncClient | undefined> => {
    const enrolled = readCredentials(config.dataDir);
    if (!enrolled) return undefined;
    // Loaded only on an enrolled box: the MQTT client costs ~20 MB and ~0.3 s of start-up.
    const { SyncClient } = await import('./sync/client.js');
    if (!s.trust.get()) {
      if (!enrolled.trust) throw new AppError('CONFIG_INVALID', `${config.dataDir} has credentials.json but no trust document: run "edgefleet-agent trust set trust.json" or enroll again`);
      const body = verifyTrustDocument(enrolled.trust, { now: new Date() });
      s.trust.put(enrolled.trust, body.version);
    }
    const trustDoc = s.trust.get()!;
    const c = config.sync;
    return new SyncClient({
      db: s.db, dataDir: config.dataDir, credentials: { ...enrolled.credentials, trust: enrolled.trust ?? trustDoc },
      models: s.models, trust: s.trust, manager: m, agentVersion, logger,
      ...(deps.pause ? { pause: deps.pause } : {}),
      ...(deps.clock ? { now: () => new Date(deps.clock!.now()) } : {}),
      emit: (e) => {
        s.events.add(e); // also queued in the outbox, in the same transaction
        logger.info({ event: e.kind, model: e.model, version: e.version, code: e.code }, e.message);
      },
      options: {
        ...(c.brokerUrl ? { brokerUrl: c.brokerUrl } : {}),
        blockSize: c.blockSize, window: c.window, reconnectMs: c.reconnectMs, outbox: c.outbox,
      },
    });
  };
  let api: ApiServer | undefined;
  let recorder: (PredictionRecorder & Partial<Part>) | undefined;
  let retention: Retention | undefined;
  let batch: BatchScheduler | undefined;
  let sync: SyncClient | undefined;
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
    get sync() { return sync; },
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
      const agentVersion = deps.agentVersion ?? AGENT_VERSION;
      manager = new ModelManager({ ...s, runtime, serving: true, agentVersion, logger, pause: deps.pause });
      sync = deps.sync === false ? undefined : await createSync(s, manager, agentVersion);
      if (!deps.recorder) {
        retention = new Retention({
          db: s.db, budgetBytes: config.summaries.budgetBytes,
          ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.retentionIntervalMs ? { intervalMs: deps.retentionIntervalMs } : {}),
          inFlightSeq: () => sync?.outbox.inFlightSeq() ?? 0,
          emit: (e) => s.events.add(e),
          onError: (err) => logger.error({ err }, 'summary retention failed'),
        });
        retention.start();
      }
      const summaries = deps.recorder
        ? deps.recorder({ db: s.db, config, manifestFor, logger })
        : new SummaryRecorder({
          // A closed window is in the outbox now: wake the sender instead of waiting for a poll.
          // The budget is enforced with the write (docs/agent-summaries.md), not only by the timer.
          sink: {
            writeWindows: (ws) => {
              const write = () => s.summaries.writeWindows(ws);
              if (retention) retention.writeWithin(write);
              else write();
              sync?.outbox.kick();
            },
          },
          manifestOf: manifestFor, windowSec: config.summaries.windowSec, ...(deps.clock ? { clock: deps.clock } : {}), onError: (err) => logger.error({ err }, 'writing summary windows failed'),
        });
      recorder = summaries;
      // The policy watcher sees every prediction beside the summaries (local rollback after a switch).
      runtime.setRecorder(sync ? teeRecorder(summaries, sync.policy) : summaries);
      await summaries.start?.();
      await manager.loadActive();
      if (config.batch.jobs.length > 0) {
        batch = new BatchScheduler({
          db: s.db, jobs: config.batch.jobs, resolveModel: (n, v) => runtimeModel(runtime, n, v),
          recorder: sync ? teeRecorder(summaries, sync.policy) : summaries, logger,
        });
        batch.start();
      }
      const handler = createApiHandler({
        runtime,
        metrics: new ApiMetrics(),
        maxBodyBytes: config.api.maxBodyBytes,
        allowNonFinite: config.allowNonFinite,
        token: config.api.token,
        isReady: () => ready,
        onError: (err) => logger.error({ err }, 'request failed'),
        extraMetrics: () => agentMetrics(s.db, sync),
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
      if (sync) await sync.start();
      extra = deps.parts?.(agent) ?? [];
      for (const p of extra) await p.start();
      ready = true;
      logger.info({
        api: api.url, models: runtime.names().map((n) => `${n}@${runtime.active(n)!.version}`),
        hub: sync ? { deviceId: sync.deviceId, broker: sync.brokerUrl } : null,
      }, 'ready');
    },
    stop() {
      if (!started) return Promise.resolve();
      stopping ??= (async () => {
        ready = false;
        for (const p of [...extra].reverse()) await p.stop();
        await sync?.stop(); // publishes offline presence; unsent windows stay in the outbox
        if (timer) clearInterval(timer);
        await api?.stop(); // stop accepting; in-flight requests finish
        await batch?.stop(); // a running job finishes its file
        await recorder?.stop?.(); // writes the open summary window (sent on the next connect)
        retention?.stop();
        await runtime.stop();
        store?.db.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
  return agent;
}

/** Prometheus series of the outbox and the hub link (read when /metrics is scraped). */
function agentMetrics(db: Db, sync: SyncClient | undefined): string {
  const rows = db.prepare('SELECT kind, COUNT(*) AS n, MIN(created) AS oldest FROM outbox GROUP BY kind').all() as Array<{ kind: string; n: number; oldest: string }>;
  const l = [
    '# HELP edgefleet_agent_outbox_items Summary windows and events waiting for the hub to acknowledge them.',
    '# TYPE edgefleet_agent_outbox_items gauge',
    ...['window', 'event'].map((k) => `edgefleet_agent_outbox_items{kind="${k}"} ${rows.find((r) => r.kind === k)?.n ?? 0}`),
    '# HELP edgefleet_agent_outbox_oldest_seconds Age of the oldest item waiting in the outbox.',
    '# TYPE edgefleet_agent_outbox_oldest_seconds gauge',
    `edgefleet_agent_outbox_oldest_seconds ${rows.length ? Math.max(0, (Date.now() - Math.min(...rows.map((r) => Date.parse(r.oldest)))) / 1000) : 0}`,
  ];
  if (sync) {
    l.push(
      '# HELP edgefleet_agent_hub_connected 1 while the MQTT link to the hub is up.',
      '# TYPE edgefleet_agent_hub_connected gauge',
      `edgefleet_agent_hub_connected ${sync.isConnected() ? 1 : 0}`,
      '# HELP edgefleet_agent_desired_seq The seq of the last desired-state document applied.',
      '# TYPE edgefleet_agent_desired_seq gauge',
      `edgefleet_agent_desired_seq ${sync.store.lastAppliedSeq()}`,
    );
  }
  return `${l.join('\n')}\n`;
}

