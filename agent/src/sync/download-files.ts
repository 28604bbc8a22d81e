// Where a hub download lives on disk and how it leaves `partial/` (BlobDownloader, downloader.ts): a
// partial file `partial/SHA.part`, moved to `bundles/SHA.efb` only when its size and sha256 match (rename,
// fsync of the directory), or removed with its progress when the disk refused it (docs/agent.md "Disk space").
import { rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, fsyncPath, sha256File } from '@edgefleet/shared';
import type { DownloadStore } from './downloader.js';

export const partialPath = (dir: string, sha256: string): string => join(dir, 'partial', `${sha256}.part`);
export const finalPath = (dir: string, sha256: string): string => join(dir, 'bundles', `${sha256}.efb`);

/**
 * Moves the committed partial file of `sha256` into place once it verifies, and drops its progress;
 * returns the final path. A file that does not verify is removed with its progress (HASH_MISMATCH).
 */
export async function placeVerified(dir: string, store: DownloadStore, sha256: string, size: number, pause?: (point: 'download:before-rename') => Promise<void>): Promise<string> {
  const partial = partialPath(dir, sha256);
  const h = await sha256File(partial);
  if (h.size !== size || h.sha256 !== sha256) {
    rmSync(partial, { force: true });
    store.remove(sha256);
    throw new AppError('HASH_MISMATCH', `downloaded blob has sha256 ${h.sha256.slice(0, 12)}… (${h.size} bytes), expected ${sha256.slice(0, 12)}… (${size} bytes); discarded (a newer desired document downloads it again)`);
  }
  const final = finalPath(dir, sha256);
  await pause?.('download:before-rename');
  renameSync(partial, final);
  fsyncPath(join(dir, 'bundles'));
  store.remove(sha256);
  return final;
}

/** Removes what is on disk of `sha256` (partial and finished file) with its progress. Never throws. */
export function discardDownload(dir: string, store: DownloadStore, sha256: string): void {
  for (const p of [partialPath(dir, sha256), finalPath(dir, sha256)]) {
    try {
      rmSync(p, { force: true });
    } catch {
      /* pruned with a later desired document (prune) */
    }
  }
  try {
    store.remove(sha256);
  } catch {
    /* the record is pruned with the next desired document (prune) */
  }
}
