// One version from the hub onto the box, not activated (the updater's step before a switch or a shadow):
// the bundle downloaded over MQTT blocks (downloader.ts), installed through the same path as
// `edgefleet-agent install` (verify, copy content-addressed, load, preflight), the download removed.
import { rmSync } from 'node:fs';
import { AppError } from '@edgefleet/shared';
import type { ModelPhase, UpdaterDeps } from './updater.js';

export interface FetchTarget {
  name: string;
  version: string;
  manifestSha256: string;
  bundle: { sha256: string; size: number };
}

/**
 * Downloads and installs `m` unless it is installed (`repair`: installed, with rotten files); a different
 * manifest under the same version is HASH_MISMATCH. `phase`: the model's state as it goes (absent for a shadow); `notify` false for a
 * download's progress, which goes with the next state report. A full disk throws DISK_FULL with no
 * `install_failed` recorded: the updater reports the wait (docs/decisions/0064-full-disk-is-not-a-failed-install.md).
 */
export async function fetchInstall(d: Pick<UpdaterDeps, 'manager' | 'models' | 'downloader' | 'emit' | 'changed'>, m: FetchTarget, phase?: (p: ModelPhase, notify: boolean) => void, repair = false): Promise<void> {
  const { manager, models, downloader, emit } = d;
  const installed = models.getVersion(m.name, m.version);
  if (installed && installed.manifestSha256 !== m.manifestSha256) {
    throw new AppError('HASH_MISMATCH', `${m.name}@${m.version} is installed with manifest ${installed.manifestSha256.slice(0, 12)}… but the hub names ${m.manifestSha256.slice(0, 12)}…`);
  }
  // `repair`: the installed version's stored files rotted (ModelManager.rotten): the bundle is fetched and
  // installed again, which rewrites those files (docs/agent.md "Bit rot").
  if (installed && !repair) {
    // A kill between the install's commit and the removal below left the download: done with too. The
    // document still names it, so no prune would take it while the box runs this version.
    downloader.discard(m.bundle.sha256);
    return;
  }
  phase?.({ status: 'downloading', target: m.version, progress: 0 }, true);
  emit({ kind: 'download_started', model: m.name, version: m.version, message: `downloading ${m.name}@${m.version} (${m.bundle.size} bytes)`, data: { progress: 0, size: m.bundle.size } });
  let lastTenth = 0;
  const path = await downloader.fetch(m.bundle.sha256, m.bundle.size, (received) => {
    const progress = m.bundle.size ? received / m.bundle.size : 1;
    phase?.({ status: 'downloading', target: m.version, progress }, false);
    const tenth = Math.floor(progress * 10);
    if (tenth > lastTenth && tenth < 10) {
      lastTenth = tenth;
      emit({ kind: 'download_progress', model: m.name, version: m.version, message: `downloading ${m.name}@${m.version}: ${tenth * 10}%`, data: { progress } });
      d.changed();
    }
  });
  phase?.({ status: 'verifying', target: m.version, progress: 1 }, true);
  emit({ kind: 'verifying', model: m.name, version: m.version, message: `verifying ${m.name}@${m.version}`, data: { progress: 1 } });
  let res;
  try {
    res = await manager.install(path, { activate: false, diskFullIsWait: true });
  } finally {
    // The store now holds the files content-addressed (or refused them): the download is done with.
    rmSync(path, { force: true });
  }
  if (res.manifestSha256 !== m.manifestSha256) {
    throw new AppError('HASH_MISMATCH', `bundle for ${m.name}@${m.version} has manifest ${res.manifestSha256.slice(0, 12)}…, the desired document names ${m.manifestSha256.slice(0, 12)}…`);
  }
}
