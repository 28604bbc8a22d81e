// Test support for the downloader tests (kept out of the agent tarball with the other testing files):
// download progress kept in memory instead of agent.db.
import type { DownloadRecord, DownloadStore } from './downloader.js';

export class MemStore implements DownloadStore {
  m = new Map<string, DownloadRecord>();
  get(s: string) { return this.m.get(s) ?? null; }
  save(r: DownloadRecord) { this.m.set(r.sha256, { ...r }); }
  remove(s: string) { this.m.delete(s); }
}
