// What the hub link (client.ts, docs/agent.md) is built from: its options and defaults, the event
// sink, the data capture hook and the dependencies the agent's composition (agent.ts) hands it.
import type { DesiredCapture, CaptureAck, DeviceCredentials, EventKind } from '@edgefleet/shared';
import type { BoxKeyPair } from '@edgefleet/shared/core';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { ModelsRepo } from '../store/models-repo.js';
import type { TrustRepo } from '../store/trust-repo.js';
import type { ModelManager } from '../install/manager.js';
import type { OutboxOptions } from './outbox.js';
import type { ConfigApplier } from './config-apply.js';
import type { UpdateLock } from '../store/update-lock-repo.js';
import type { ShadowRunner } from '../shadow/runner.js';
import type { DiskFullState } from '../disk-full.js';
import type { RemovalsRepo } from '../store/removals-repo.js';

export interface SyncOptions {
  brokerUrl?: string;
  blockSize: number;
  window: number;
  reconnectMs: number;
  /** MQTT keepalive in seconds (sync.keepaliveSec). */
  keepaliveSec?: number;
  outbox: Partial<OutboxOptions>;
}

export const DEFAULT_SYNC: SyncOptions = { blockSize: 1024 * 1024, window: 8, reconnectMs: 2000, outbox: {} };


export type Emit = (e: { kind: EventKind; model?: string; version?: string; code?: string; message: string; data?: Record<string, unknown> }) => void;

/** Data capture (agent/src/capture): told of each document's captures, fed acks, sends while connected. */
export interface CaptureLink {
  apply(specs: readonly DesiredCapture[]): void;
  onAck(ack: CaptureAck): void;
  resume(publish: (payload: string) => Promise<void>): void;
  pause(): void;
}

export interface SyncDeps {
  db: Db;
  dataDir: string;
  credentials: DeviceCredentials;
  models: ModelsRepo;
  trust: TrustRepo;
  manager: ModelManager;
  agentVersion: string;
  logger: Logger;
  /** Records an event (local log + outbox). */
  emit: Emit;
  now?: () => Date;
  /** The mark of the clock that reads now (clock-mark.ts), sent with presence and state. */
  clockMark?: () => string;
  options?: Partial<SyncOptions>;
  /** This box's X25519 key pair: its public half is reported in the state, for sealed models. */
  deviceKey?: () => BoxKeyPair;
  /** More capabilities for the reported state (the runtime's backend: backend-native / backend-wasm). */
  capabilities?: () => readonly string[];
  /** Applies the remote configuration of each desired document and says what to report (docs/agent.md "Remote configuration"). */
  config?: () => ConfigApplier | undefined;
  /** The box's update lock in force, if any: a switch waits while it holds (docs/agent.md "Update lock"). */
  lock?: () => UpdateLock | null;
  /** How often a deferred switch, or a desired document refused by the box's clock, is looked at again at most (updater.ts DEFER_CHECK_MS, desired-intake.ts). */
  deferCheckMs?: number;
  /** How often the data dir's disk is looked at between state reports (disk-space.ts; default 60 s). */
  diskCheckMs?: number;
  /** While a version waits for room on a full disk, how often the free room is looked at (disk-wait.ts; default 30 s). */
  diskWaitCheckMs?: number;
  /** Test hook: download pause points (EDGEFLEET_TEST_PAUSE_AT). */
  pause?: (point: 'download:mid' | 'download:before-rename') => Promise<void>;
  /** Runs the candidates desired documents name in shadow (docs/agent.md "Shadow evaluation"). */
  shadow?: ShadowRunner;
  /** What the disk refuses now (disk-full.ts): downloads report to it. */
  disk?: DiskFullState;
  /** The models the hub removed (docs/agent.md "Removed models"); absent: removals are not acted on. */
  removals?: RemovalsRepo;
  /** sync.removedKeepSec now (remote configuration may change it). */
  removedKeepSec?: () => number;
}
