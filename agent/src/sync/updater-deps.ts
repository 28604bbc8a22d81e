// What the updater (updater.ts, docs/agent.md "Connecting to a hub") is given by the hub link, and
// what it reports per model in the device's state: the phase of the version it is bringing in
// (downloading, deferred, waiting for disk, failed...); how often it looks at a deferred switch again.
import type { DiskWait, EventKind } from '@edgefleet/shared';
import type { ModelManager } from '../install/manager.js';
import type { ModelsRepo } from '../store/models-repo.js';
import type { UpdateLock } from '../store/update-lock-repo.js';
import type { RemovalsRepo } from '../store/removals-repo.js';
import type { ShadowRunner } from '../shadow/runner.js';
import type { DiskFullState } from '../disk-full.js';
import type { BlobDownloader } from './downloader.js';
import type { SyncStore } from './sync-store.js';

export type ModelPhase = {
  status: 'downloading' | 'verifying' | 'activating' | 'failed' | 'rolled_back' | 'deferred' | 'waiting_for_disk';
  target: string;
  progress?: number;
  reason?: { code: string; message: string };
  /** While deferred: when the switch may happen (ISO, by this box's clock; null: never). */
  until?: string | null;
  /** While waiting_for_disk: the room needed and free. */
  diskWait?: DiskWait;
};

/** How often a deferred switch is looked at again at most (a lock removed through the API is seen at once). */
export const DEFER_CHECK_MS = 30_000;

export interface UpdaterDeps {
  manager: ModelManager;
  models: ModelsRepo;
  downloader: BlobDownloader;
  store: SyncStore;
  emit: (e: { kind: EventKind; model?: string; version?: string; code?: string; message: string; data?: Record<string, unknown> }) => void;
  /** Something a state report should show changed. */
  changed: () => void;
  /**
   * A failure outside a model's own install (e.g. SQLite full while recording a failure or a breach):
   * reported here, never an unhandled rejection (which would end the daemon).
   */
  onError: (err: unknown, what: string) => void;
  /** The box's clock (ms); default Date.now. */
  now?: () => number;
  /** The update lock in force, if any (store/update-lock-repo.ts). */
  lock?: () => UpdateLock | null;
  /** Look at a deferred switch again at least this often (default DEFER_CHECK_MS). */
  deferCheckMs?: number;
  /** Runs the candidates a document names in shadow (absent: shadows are ignored). */
  shadow?: ShadowRunner;
  /** Told when a download or install is refused for a full disk, and when one succeeds (disk-full.ts). */
  disk?: DiskFullState;
  /** Bytes free on the data dir's disk (statfs), undefined when unreadable: a version waiting for room is tried when it has it. */
  diskFree?: () => number | undefined;
  /** While a version waits for room, look at the free room this often (disk-wait.ts DISK_CHECK_MS). */
  diskCheckMs?: number;
  /** The models the hub removed (absent: removals are not acted on). */
  removals?: RemovalsRepo;
  /** sync.removedKeepSec now (default removals.ts's). */
  removedKeepSec?: () => number;
}
