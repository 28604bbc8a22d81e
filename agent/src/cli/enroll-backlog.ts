// What `enroll` as a new device id would doom (docs/agent.md "CLI", enroll): the summary windows and
// events the box queued as its current id and has not sent are dropped at its first run as the new id
// (sync-store.ts startIdentity; docs/decisions/0112-seq-space-per-device-id.md, addendum). enroll counts
// them first, before any token use is spent, and refuses unless the operator says to drop them
// (--drop-backlog): the drop cannot be undone, and letting the outbox drain keeps them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared/core';
import { Database } from '../store/sqlite.js';

/** The outbox rows not yet sent and the id they were queued as. */
export interface Backlog { windows: number; events: number; queuedAs: string }

/**
 * The backlog in DATA/agent.db (read only), queued as the id the box last started as (`sync_kv`
 * `deviceId`, else `enrolledAs`); zero when the box never ran. An agent.db that cannot be read is an
 * error naming it: its rows cannot be said safe.
 */
export function readBacklog(dataDir: string, enrolledAs: string): Backlog {
  const path = join(dataDir, 'agent.db');
  if (!existsSync(path)) return { windows: 0, events: 0, queuedAs: enrolledAs };
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const table = (name: string) => db!.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    const rows = table('outbox') ? db.prepare('SELECT kind, COUNT(*) AS n FROM outbox GROUP BY kind').all() as Array<{ kind: string; n: number }> : [];
    const kv = table('sync_kv') ? db.prepare("SELECT value FROM sync_kv WHERE key = 'deviceId'").get() as { value: string } | undefined : undefined;
    const n = (kind: string) => rows.find((r) => r.kind === kind)?.n ?? 0;
    return { windows: n('window'), events: n('event'), queuedAs: kv?.value ?? enrolledAs };
  } catch (err) {
    throw new AppError('INTERNAL', `cannot count what this box queued and has not sent in ${path}: ${(err as Error).message}; expected a readable agent.db (run as the agent's user)`);
  } finally {
    db?.close();
  }
}

const what = (b: Backlog): string => `${b.windows} summary windows and ${b.events} events queued as ${b.queuedAs} and not yet sent`;

/**
 * The refusal of an enrollment as `newId` (undefined: the hub picks one) that would drop `b`, or undefined
 * when nothing would be dropped or the operator said so (`drop`).
 */
export function backlogRefusal(b: Backlog, newId: string | undefined, drop: boolean, dataDir: string): AppError | undefined {
  if (b.windows + b.events === 0 || b.queuedAs === newId || drop) return undefined;
  return new AppError('CONFLICT', `${what(b)} (${join(dataDir, 'agent.db')}): enrolled as a new device, the box drops them at its next run (they are ${b.queuedAs}'s history, not the new id's). `
    + `To keep them, run the agent connected to its hub until "edgefleet-agent status" shows "outbox 0 pending", then enroll again; to drop them, add --drop-backlog. No enrollment token use was spent`);
}

/** The note `enroll --drop-backlog` prints once enrolled as `newId`, or undefined when nothing is dropped. */
export function backlogNote(b: Backlog, newId: string): string | undefined {
  if (b.windows + b.events === 0 || b.queuedAs === newId) return undefined;
  return `note: ${what(b)} are dropped at the next run as ${newId} (--drop-backlog)\n`;
}
