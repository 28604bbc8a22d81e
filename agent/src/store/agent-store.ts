// agent.db and the repositories on it, for the daemon (agent.ts) and the CLI: every migration of
// the agent's parts is registered here.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type BoxKeyPair } from '@edgefleet/shared/core';
import { BlobStore } from './blobs.js';
import { coreMigration, openDb, type Db, type Migration } from './db.js';
import { EventsRepo } from './events-repo.js';
import { ModelsRepo } from './models-repo.js';
import { TrustRepo } from './trust-repo.js';
import { ContentKeysRepo, contentKeysMigration } from './content-keys-repo.js';
import { UpdateLockRepo, updateLockMigration } from './update-lock-repo.js';
import { RemovalsRepo, removalsMigration } from './removals-repo.js';
import { loadOrCreateDeviceKey } from '../keys/device-key.js';
import { openWindowsMigration, outboxWindowsMigration, summariesMigration } from '../summaries/migration.js';
import { SummaryStore } from '../summaries/store.js';
import { syncMigration, seqFloorsMigration } from '../sync/sync-store.js';
import { captureMigration } from '../capture/store.js';
import { feedbackMigration } from '../feedback/keep.js';
import { ClockMarks } from '../clock-mark.js';

export interface Store {
  db: Db;
  summaries: SummaryStore;
  events: EventsRepo;
  models: ModelsRepo;
  trust: TrustRepo;
  blobs: BlobStore;
  contentKeys: ContentKeysRepo;
  /** The update lock a local app set (POST /edgefleet/v1/update-lock). */
  updateLock: UpdateLockRepo;
  /** Models the hub removed (docs/decisions/0066-models-leave-a-box-by-an-explicit-removal.md). */
  removals: RemovalsRepo;
  /** DATA/device-key.json, made on first use (docs/security.md "Sealed models"). */
  deviceKey: () => BoxKeyPair;
  /**
   * The mark of the clock that reads now (docs/decisions/0059-clock-marks.md): windows, presence, state and
   * every event queued for the hub carry it. One ClockMarks per store, made on first use, so all of them
   * count the same steps.
   */
  clockMark: () => string;
}

/**
 * Every migration of agent.db, registered here by each part: core (1), summaries/outbox (100), the
 * open windows' checkpoint (101), the outbox windows' index (102), sync state (200, seq floor per hub key 201, model origin and removals 202), the update lock (300), data capture (400), sealed content keys (500) and the predictions remembered for labels (600). Ids never change, so
 * a database written by an earlier agent opens unchanged.
 */
export const AGENT_MIGRATIONS: readonly Migration[] = [coreMigration, summariesMigration, openWindowsMigration, outboxWindowsMigration, syncMigration, seqFloorsMigration, removalsMigration, contentKeysMigration, captureMigration, updateLockMigration, feedbackMigration];

/**
 * Opens the data dir's database and repositories (used by the daemon and the CLI). `monotonic`: the clock
 * marks' monotonic clock (a test passes its own `now` as both, so its clock steps only when it says).
 */
export function openStore(dataDir: string, forwardEvents = true, now: () => number = Date.now, monotonic?: () => number): Store {
  const blobs = join(dataDir, 'blobs');
  // A file in its place (a copy gone wrong) is refused here, rather than every install failing later on ENOTDIR.
  if (statSync(blobs, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new AppError('IO_ERROR', `${blobs} is not a directory: expected the directory of the installed versions' files the agent keeps: `
      + `move it aside (mv ${blobs} ${blobs}.aside) and start again; the versions whose files it held need installing again`, { details: { path: blobs } });
  }
  const db = openDb(join(dataDir, 'agent.db'), AGENT_MIGRATIONS);
  const summaries = new SummaryStore(db);
  let marks: ClockMarks | undefined;
  const clockMark = () => (marks ??= new ClockMarks({ db, now, ...(monotonic ? { monotonic } : {}) })).current();
  // An event queued for the hub names the clock that stamped its `at` now, when it is recorded, as a window
  // names the clock that opened it: the hub places it by that clock (docs/decisions/0059-clock-marks.md).
  const events = new EventsRepo(db, forwardEvents ? (e) => void summaries.addEvent({ ...e, clock: clockMark() }) : undefined);
  let deviceKey: BoxKeyPair | undefined;
  return {
    db, summaries, events, models: new ModelsRepo(db), trust: new TrustRepo(db), blobs: new BlobStore(blobs),
    contentKeys: new ContentKeysRepo(db), updateLock: new UpdateLockRepo(db, now), removals: new RemovalsRepo(db), deviceKey: () => (deviceKey ??= loadOrCreateDeviceKey(dataDir).pair),
    clockMark,
  };
}
