// Removing downloads the hub no longer asks for (BlobDownloader.prune, docs/agent.md "Connecting to a hub").
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DownloadStore } from './downloader.js';

/**
 * Removes partial and finished downloads under `dir` of blobs not in `keep` (what the desired document
 * names now) and not being fetched, with their progress records: a download the hub no longer asks for
 * (a failure, a document replaced while the box was off) is never resumed, and each would hold up to a
 * bundle's size on disk for ever. Returns how many files went.
 */
export function pruneDownloads(dir: string, store: DownloadStore, keep: ReadonlySet<string>, active: (sha256: string) => boolean): number {
  let n = 0;
  for (const [sub, ext] of [['partial', '.part'], ['bundles', '.efb']] as const) {
    const at = join(dir, sub);
    let names: string[];
    try {
      names = readdirSync(at);
    } catch {
      continue;
    }
    for (const name of names) {
      const sha256 = name.endsWith(ext) ? name.slice(0, -ext.length) : '';
      if (!/^[0-9a-f]{64}$/.test(sha256) || keep.has(sha256) || active(sha256)) continue;
      rmSync(join(at, name), { force: true });
      if (sub === 'partial') store.remove(sha256);
      n++;
    }
  }
  return n;
}
