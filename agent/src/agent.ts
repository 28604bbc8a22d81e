// Builds every part of a running agent from a config and its collaborators
// (no I/O in here until start()), so tests and benches can run an agent
// in-process. main.ts is the program's composition root around this.
import { MAX_STOP_GRACE_MS, settleWithin } from '@edgefleet/shared/core';
import type { AgentConfig } from './config.js';
import type { ApiServer } from './api/server.js';
import { buildApis } from './api/build.js';
import type { GrpcApi } from './api/grpc/server.js';
import type { PredictionKeeper } from './feedback/keep.js';
import { ModelManager } from './install/manager.js';
import { createLogger } from './log.js';
import { PolicyGuard, type PolicyEmit } from './policy/guard.js';
import { teeRecorder } from './policy/watcher.js';
import type { ManifestLookup, PredictionRecorder } from './runtime/recorder.js';
import { ModelRuntime } from './runtime/runtime.js';
import { removedError } from './store/removals-repo.js';
import { ShadowRunner } from './shadow/runner.js';
import { openStore, type Store } from './store/agent-store.js';
import { WalKeeper } from './store/wal.js';
import { inTransaction } from './store/statements.js';
import { SummaryRecorder } from './summaries/recorder.js';
import { Retention } from './summaries/retention.js';
import type { BatchScheduler } from './batch/scheduler.js';
import type { SyncClient } from './sync/client.js';
import { SYNC_STOP_MS } from './sync/stop-budget.js';
import { createSyncLink } from './sync/link.js';
import type { DataCapture } from './capture/part.js';
import { AGENT_VERSION } from './version.js';
import type { ConfigApplier } from './sync/config-apply.js';
import type { Agent, AgentDeps, Part } from './agent-types.js';
import { DiskFullState } from './disk-full.js';

export type { Agent, AgentDeps, Part, RecorderContext } from './agent-types.js';

/**
 * Deadlines of agent.stop()'s steps (docs/agent.md "Stopping"): the hub link and the API stop side by
 * side, so the whole stop stays under STOP_TOTAL_MS, and main.ts exits by force after STOP_EXIT_MS.
 * The API's step honours api.stopGraceMs (at most MAX_STOP_GRACE_MS, the schema's bound) and then
 * API_CLOSE_MS to close the connections left; no longer than the hub link's step, so the grace costs the
 * stop nothing.
 */
export const API_CLOSE_MS = 500;
export const STOP_MS = { part: 1000, sync: SYNC_STOP_MS + 500, api: MAX_STOP_GRACE_MS + API_CLOSE_MS, batch: 2000, runtime: 1000 };
export const STOP_TOTAL_MS = Math.max(STOP_MS.sync, STOP_MS.api) + STOP_MS.batch + STOP_MS.runtime;
export const STOP_EXIT_MS = 9000;

export function createAgent(config: AgentConfig, deps: AgentDeps = {}): Agent {
  const logger = deps.logger ?? createLogger(config.log.level);
  let store: Store | undefined;
  const need = () => {
    if (!store) throw new Error('agent is not started');
    return store;
  };
  // What the disk refuses now, shown on /v2/health (disk-full.ts).
  const disk = new DiskFullState(logger, deps.clock ? () => deps.clock!.now() : Date.now);
  const runtime = new ModelRuntime({ overrides: config.runtime, perModel: config.concurrency.perModel, queue: config.concurrency.queue });
  const shadow = new ShadowRunner({ runtime, logger, ...(deps.shadowLimits ? { limits: deps.shadowLimits } : {}) });
  const manifestFor: ManifestLookup = (name, version) => runtime.manifestFor(name, version) ?? store?.models.getVersion(name, version)?.manifest;
  let manager: ModelManager | undefined;
  let api: ApiServer | undefined;
  let grpc: GrpcApi | undefined;
  let keeper: PredictionKeeper | undefined;
  let recorder: (PredictionRecorder & Partial<Part>) | undefined;
  let retention: Retention | undefined;
  let wal: WalKeeper | undefined;
  let batch: BatchScheduler | undefined;
  let sync: SyncClient | undefined;
  let applier: ConfigApplier | undefined;
  let summaryRecorder: SummaryRecorder | undefined;
  let policy: PolicyGuard | undefined;
  let capture: DataCapture | undefined;
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
    shadow,
    get manager() {
      if (!manager) throw new Error('agent is not started');
      return manager;
    },
    logger,
    get sync() { return sync; },
    get remoteConfig() { return applier; },
    get policy() { return policy; },
    get url() {
      if (!api) throw new Error('agent is not started');
      return api.url;
    },
    get grpcAddress() { return grpc?.address; },
    manifestFor,
    async start() {
      started = true;
      // Which clock stamps windows, events, presence and state (docs/decisions/0059-clock-marks.md): the store's
      // one ClockMarks; a test's clock is its monotonic clock too, so it steps only when the test says.
      store = openStore(config.dataDir, true, deps.clock ? () => deps.clock!.now() : Date.now, deps.clock ? () => deps.clock!.now() : undefined);
      const s = store;
      await s.blobs.cleanTmp();
      // A model the hub removed is answered MODEL_REMOVED, not "unknown" (docs/agent.md "Removed models").
      runtime.whyNotServed = (name) => {
        const r = s.removals.get(name);
        return r ? removedError(r) : undefined;
      };
      const agentVersion = deps.agentVersion ?? AGENT_VERSION;
      // runtime.backend: native | wasm | auto (MODEL_LOAD_FAILED when none loads on this box).
      const backend = await runtime.backend();
      logger.info({ backend: backend.name, onnxruntime: backend.version }, 'onnxruntime backend');
      manager = new ModelManager({
        ...s, runtime, serving: true, agentVersion, logger, pause: deps.pause, onSwitch: (sw) => policy?.switched(sw),
        ...(deps.clock ? { now: () => new Date(deps.clock!.now()) } : {}),
      });
      const clockMark = s.clockMark;
      if (deps.sync !== false) {
        const link = await createSyncLink({
          config, deps, store: s, manager, agentVersion, runtime, shadow, logger, sync: () => sync, clockMark, disk,
          live: {
            windowSec: (sec) => summaryRecorder?.setWindowSec(sec),
            checkpointSec: (sec) => summaryRecorder?.setCheckpointMs(sec * 1000),
            budgetBytes: (bytes) => retention?.setBudget(bytes),
            outbox: (o) => sync?.outbox.setOptions(o),
            concurrency: (perModel, queue) => runtime.setConcurrency(perModel, queue),
            logLevel: (level) => logger.setLevel?.(level),
          },
        });
        sync = link?.sync;
        applier = link?.applier;
      }
      // Policy rollback runs on every box (a standalone one installed from a USB stick too); on an
      // enrolled box its events also go to the hub from the outbox and the updater blocks the version.
      const emitPolicy: PolicyEmit = (e) => {
        s.events.add(e);
        logger.info({ event: e.kind, model: e.model, version: e.version, code: e.code }, e.message);
        sync?.outboxChanged();
      };
      policy = new PolicyGuard({ models: s.models, events: s.events, manager, emit: emitPolicy, logger, listener: sync?.updater });
      // What a killed process had counted in its open windows, as of its last checkpoint (docs/agent-summaries.md "Crashes").
      const recovered = s.summaries.recoverOpen();
      if (recovered.length) {
        logger.info({ windows: recovered.length, predictions: recovered.reduce((k, w) => k + w.count, 0) }, 'recovered the open summary windows of the last run from their checkpoint');
      }
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
        : summaryRecorder = new SummaryRecorder({
          // A closed window is in the outbox now: wake the sender instead of waiting for a poll.
          // The budget is enforced with the write (docs/agent-summaries.md), not only by the timer.
          sink: {
            // Each write with its commit tells `disk` whether the disk took it (disk-full.ts).
            writeWindows: (ws) => {
              const write = () => s.summaries.writeWindows(ws);
              disk.run('summary windows', () => (retention ? retention.writeWithin(write) : write()));
              sync?.outboxChanged();
            },
            // Closed windows and the open windows' checkpoint in one transaction (docs/agent-summaries.md "Crashes").
            // The labelled marks of the remembered predictions too: a label's count and its mark are saved
            // together, so it counts once after a restart (feedback/keep.ts).
            persist: (closed, open) => {
              const write = () => inTransaction(s.db, () => {
                const bytes = s.summaries.persist(closed, open);
                keeper?.flush();
                return bytes;
              });
              disk.run('summary windows', () => (retention && closed.length ? retention.writeWithin(write) : write()));
              if (closed.length) sync?.outboxChanged();
            },
          },
          manifestOf: manifestFor, windowSec: config.summaries.windowSec, checkpointMs: config.summaries.checkpointSec * 1000,
          ...(deps.clock ? { clock: deps.clock } : {}), clockMark, onError: (err) => logger.error({ err }, 'writing summary windows failed'),
          // Shadow runs are counted in the windows of the requests they sample (docs/agent-summaries.md "Shadow").
          shadow,
        });
      recorder = summaries;
      if (sync) {
        // Data capture asked for by the hub, off the request path (docs/agent.md "Data capture").
        const { DataCapture } = await import('./capture/part.js');
        capture = new DataCapture({
          db: s.db, deviceId: sync.deviceId, config: config.capture, logger, manifestFor, ...(deps.clock ? { now: () => deps.clock!.now() } : {}),
          wipeWal: () => wal?.truncateSoon(), disk,
        });
        sync.attachCapture(capture);
        capture.start();
      }
      // The policy guard sees every prediction beside the summaries (local rollback after a switch).
      const recordAll = capture ? teeRecorder(summaries, policy, capture) : teeRecorder(summaries, policy);
      runtime.setRecorder(recordAll);
      await summaries.start?.();
      wal = new WalKeeper({ db: s.db, logger, ...(deps.walIntervalMs ? { intervalMs: deps.walIntervalMs } : {}) });
      wal.start();
      await manager.loadActive();
      await deps.modelsLoaded?.(agent, (name, overrides, version) => manager!.loadsIn(name, new ModelRuntime({ overrides, perModel: 1, queue: 0 }), version), manager);
      policy.start();
      if (config.batch.jobs.length > 0) {
        // Loaded only with jobs configured: less to load on a box that has none (docs/performance.md).
        const [{ BatchScheduler }, { runtimeModel }] = await Promise.all([import('./batch/scheduler.js'), import('./batch/run.js')]);
        batch = new BatchScheduler({
          db: s.db, jobs: config.batch.jobs, resolveModel: (n, v) => runtimeModel(runtime, n, v),
          recorder: recordAll, logger, disk,
        });
        batch.start();
      }
      const apis = await buildApis({
        config, runtime, shadow, logger, summaries, db: s.db, updateLock: s.updateLock, sync: () => sync, isReady: () => ready, disk,
        feedbackLimits: deps.feedbackLimits, now: deps.clock ? () => deps.clock!.now() : Date.now,
      });
      api = apis.api;
      keeper = apis.keeper;
      await api.start();
      grpc = apis.grpc;
      if (grpc) await grpc.start();
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
        api: api.url, ...(config.api.socket ? { socket: config.api.socket } : {}), ...(grpc ? { grpc: grpc.address, grpcSocket: config.api.grpc.socket } : {}), models: runtime.names().map((n) => `${n}@${runtime.active(n)!.version}`),
        hub: sync ? { deviceId: sync.deviceId, broker: sync.brokerUrl } : null,
      }, 'ready');
    },
    stop() {
      if (!started) return Promise.resolve();
      stopping ??= (async () => {
        ready = false;
        const step = (work: Promise<unknown> | unknown, ms: number, what: string) =>
          settleWithin(work, ms, what, (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, `stopping: ${what}`));
        for (const p of [...extra].reverse()) await step(p.stop(), STOP_MS.part, 'an extra part');
        if (timer) clearInterval(timer);
        await Promise.all([
          // Publishes offline presence; unsent windows stay in the outbox. Bounded on its own (SYNC_STOP_MS).
          step(sync?.stop(), STOP_MS.sync, 'the hub link'),
          step(api?.stop(), STOP_MS.api, 'the API (in-flight requests)'), // stop accepting; in-flight requests finish
          step(grpc?.stop(), STOP_MS.api, 'the gRPC API (calls in progress)'),
          // Side by side with the API: samples offered from now on are dropped (counted), sessions released.
          step(shadow.stop(), STOP_MS.runtime, 'releasing shadow sessions'),
        ]);
        await Promise.all([
          step(batch?.stop(), STOP_MS.batch, 'the running batch job'), // a running job finishes its file
          step(policy?.stop(), STOP_MS.batch, 'a policy rollback under way'),
          // Captured rows still in memory are sealed into agent.db (uploaded after the next start).
          step(capture?.stop(), STOP_MS.batch, 'sealing the captured rows'),
          // The prune after an install or switch (install/prune.ts) ends before the store closes.
          step(manager?.settled(), STOP_MS.batch, 'model operations under way'),
        ]);
        // Local SQLite only: writes the open summary window (sent on the next connect), so every
        // prediction served before the signal is on disk.
        keeper?.stop(); // the predictions remembered for labels, and their marks (local SQLite only)
        try {
          await recorder?.stop?.();
        } catch (err) {
          logger.error({ err }, 'writing the open summary window failed');
        }
        retention?.stop();
        wal?.stop();
        // Bounded inside too (RUNTIME_STOP_MS): a release not answered still lets the backend close.
        await step(runtime.stop((err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'stopping: model sessions')), STOP_MS.runtime, 'releasing model sessions');
        store?.db.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
  return agent;
}
