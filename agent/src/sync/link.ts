// The hub link of an enrolled box (DATA/credentials.json exists), built for agent.ts: trust
// provisioned from the credentials if agent.db has none, the device key made, remote configuration
// (docs/agent.md "Remote configuration") and the sync client. The MQTT client, zod and the wire
// schemas are loaded only here, on an enrolled box: ~40 MB and ~0.3 s of start-up a standalone box
// does not pay (docs/performance.md).
import { existsSync } from 'node:fs';
import { AppError } from '@edgefleet/shared/core';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { ModelManager } from '../install/manager.js';
import type { Pause } from '../install/pause.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import type { ShadowRunner } from '../shadow/runner.js';
import type { Store } from '../store/agent-store.js';
import { loadWire } from '../wire.js';
import { readFailedRemoteConfig, readRefusedRemoteConfig, writeRefusedRemoteConfig, writeRemoteConfig, type StoredRemoteConfig } from '../config-remote.js';
import { credentialsPath } from './paths.js';
import type { SyncClient } from './client.js';
import type { ConfigApplier, LiveSettings } from './config-apply.js';
import type { DiskFullState } from '../disk-full.js';

export interface LinkParts {
  config: AgentConfig;
  /** What createAgent was given (agent.ts AgentDeps). */
  deps: {
    localConfig?: Record<string, unknown> | undefined;
    remoteConfig?: StoredRemoteConfig | undefined;
    restart?: (() => void) | undefined;
    withdrawRestart?: (() => void) | undefined;
    pause?: Pause | undefined;
    clock?: { now(): number } | undefined;
    deferCheckMs?: number | undefined;
    diskWaitCheckMs?: number | undefined;
  };
  /** What the disk refuses now (disk-full.ts). */
  disk: DiskFullState;
  /** The mark of the clock that reads now (clock-mark.ts). */
  clockMark: () => string;
  store: Store;
  manager: ModelManager;
  agentVersion: string;
  runtime: ModelRuntime;
  shadow: ShadowRunner;
  logger: Logger;
  /** Settings applied without a restart. */
  live: LiveSettings;
  /** The link once built (the applier reports state changes through it). */
  sync: () => SyncClient | undefined;
}

/** The hub link, or undefined on a box that is not enrolled. */
export async function createSyncLink(p: LinkParts): Promise<{ sync: SyncClient; applier: ConfigApplier } | undefined> {
  const { config, deps, store: s, logger, runtime } = p;
  if (!existsSync(credentialsPath(config.dataDir))) return undefined;
  const [{ verifyTrustDocument }, { readCredentials }, { SyncClient }] = await Promise.all([loadWire(), import('./credentials.js'), import('./client.js')]);
  const enrolled = readCredentials(config.dataDir);
  if (!enrolled) return undefined;
  if (!s.trust.get()) {
    if (!enrolled.trust) throw new AppError('CONFIG_INVALID', `${config.dataDir} has credentials.json but no trust document: run "edgefleet-agent trust set trust.json" or enroll again`);
    const body = verifyTrustDocument(enrolled.trust, { now: new Date() });
    s.trust.put(enrolled.trust, body.version);
  }
  const trustDoc = s.trust.get()!;
  // A box enrolled before sealed models gets its device key now; the hub takes the public half from
  // the state it reports over its authenticated connection (docs/security.md "Sealed models").
  s.deviceKey();
  const c = config.sync;
  const [{ ConfigApplier }, { validateConfig }] = await Promise.all([import('./config-apply.js'), import('../config.js')]);
  const applier = new ConfigApplier({
    local: deps.localConfig ?? (config as unknown as Record<string, unknown>), current: config, stored: deps.remoteConfig, failed: readFailedRemoteConfig(config.dataDir), validate: validateConfig,
    store: (r) => writeRemoteConfig(config.dataDir, r),
    refused: (r) => writeRefusedRemoteConfig(config.dataDir, r), refusedBefore: readRefusedRemoteConfig(config.dataDir) !== undefined,
    live: p.live,
    restart: deps.restart, withdrawRestart: deps.withdrawRestart, changed: () => p.sync()?.stateChanged(),
    log: (level, obj, msg) => logger[level](obj, msg), now: () => (deps.clock ? new Date(deps.clock.now()) : new Date()),
  });
  const sync = new SyncClient({
    config: () => applier,
    db: s.db, dataDir: config.dataDir, credentials: { ...enrolled.credentials, trust: enrolled.trust ?? trustDoc },
    models: s.models, trust: s.trust, manager: p.manager, agentVersion: p.agentVersion, logger, deviceKey: s.deviceKey, shadow: p.shadow,
    capabilities: () => (runtime.backendInUse ? [`backend-${runtime.backendInUse}`] : []),
    ...(deps.pause ? { pause: deps.pause } : {}),
    ...(deps.clock ? { now: () => new Date(deps.clock!.now()) } : {}),
    clockMark: p.clockMark, disk: p.disk, removals: s.removals, removedKeepSec: () => applier.config.sync.removedKeepSec,
    lock: () => s.updateLock.get(), ...(deps.deferCheckMs !== undefined ? { deferCheckMs: deps.deferCheckMs } : {}),
    ...(deps.diskWaitCheckMs !== undefined ? { diskWaitCheckMs: deps.diskWaitCheckMs } : {}),
    emit: (e) => {
      s.events.add(e); // also queued in the outbox, in the same transaction
      logger.info({ event: e.kind, model: e.model, version: e.version, code: e.code }, e.message);
    },
    options: {
      ...(c.brokerUrl ? { brokerUrl: c.brokerUrl } : {}),
      blockSize: c.blockSize, window: c.window, reconnectMs: c.reconnectMs, keepaliveSec: c.keepaliveSec, outbox: c.outbox,
    },
  });
  return { sync, applier };
}
