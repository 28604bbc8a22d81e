// What a local switch on an enrolled box lasts for (docs/agent.md "Connecting to a hub"): the hub's desired state
// decides which version runs, so `install`, `activate` and `rollback` say when the version they switched
// to is not the one the hub assigns, and that the agent switches back at the next desired document.
import { readCredentials } from '../sync/credentials.js';
import { SyncStore } from '../sync/sync-store.js';
import type { Store } from '../store/agent-store.js';

interface AppliedDoc { signed?: { seq?: number; models?: Array<{ name?: string; version?: string }> } }

/** The note for a box enrolled with a hub whose last applied document assigns `name` another version; null otherwise. */
export function hubOverrideNote(s: Store, dataDir: string, name: string, active: string): string | null {
  const creds = readCredentials(dataDir);
  if (!creds) return null;
  const doc = new SyncStore(s.db).appliedDocument() as AppliedDoc | undefined;
  const assigned = doc?.signed?.models?.find((m) => m.name === name)?.version;
  if (assigned === undefined || assigned === active) return null;
  return `note: this box is enrolled as ${creds.credentials.deviceId} and its hub assigns ${name}@${assigned} (desired seq ${doc?.signed?.seq ?? '?'}): `
    + `the agent switches back to it at the next desired document or its next start. To keep ${name}@${active} here, deploy it from the hub.\n`;
}
