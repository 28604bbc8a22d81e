// An outbox numbering below what the hub holds (docs/agent.md "Outbox"): agent.db was put back from a
// backup (docs/operations.md "Upgrades") or made anew under the same device id, so the seqs it hands out
// again are ones the hub stored from the box before. The hub stores a (device, seq) once and acks a
// resend, so whatever goes out under such a seq is acked and lost. The hub's acks say the highest seq it
// holds from the device; an agent whose own highest is lower moves its rows above it.
import { inRanges } from '@edgefleet/shared';
import type { Db } from '../store/db.js';
import type { Logger } from '../log.js';
import type { Emit } from './sync-deps.js';

/** The highest seq this agent.db ever gave an outbox row (AUTOINCREMENT's record; 0 for none). */
export function highestAssigned(db: Db): number {
  const r = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined;
  return r?.seq ?? 0;
}

/** What moveAbove did: the hub's highest seq, this agent.db's before, and the rows moved (their old seqs). */
export interface MovedAbove { hubMax: number; ownMax: number; moved: number[] }

/**
 * When `hubMax` (from an ack) passes the highest seq this agent.db ever assigned, moves the rows not
 * stored at the hub above it, in their order, and makes the next row's seq follow them. Rows not stored
 * at the hub: those first sent in this connection (above `sentBefore`, the durable sent mark when it
 * began) except the ones this ack says the hub stored new (in `ranges`, not in `known`). Rows at or
 * below `sentBefore` went out before and are left as they are. Null when the agent is not behind.
 * Call inside the transaction that then deletes the acked rows.
 */
export function moveAbove(db: Db, hubMax: number, sentBefore: number, ranges: ReadonlyArray<[number, number]>, known: ReadonlyArray<[number, number]>): MovedAbove | null {
  const ownMax = highestAssigned(db);
  if (!(hubMax > ownMax)) return null;
  const rows = db.prepare('SELECT seq FROM outbox WHERE seq > ? ORDER BY seq').all(sentBefore) as Array<{ seq: number }>;
  const upd = db.prepare('UPDATE outbox SET seq = ? WHERE seq = ?');
  const moved: number[] = [];
  let next = hubMax;
  for (const { seq } of rows) {
    if (inRanges(seq, ranges) && !inRanges(seq, known)) continue; // stored new: acked as usual
    upd.run(++next, seq); // above every row there is (all are at most ownMax < hubMax): no clash
    moved.push(seq);
  }
  // AUTOINCREMENT goes on from its record, which an UPDATE does not raise.
  if (db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'").run(next).changes === 0) {
    db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)").run(next);
  }
  return { hubMax, ownMax, moved };
}

/** A move is logged and told to the hub (an error event, SEQ_BEHIND_HUB). */
export function reportMovedAbove(m: MovedAbove, logger: Logger, emit: Emit): void {
  const message = `the hub holds seqs up to ${m.hubMax} from this device but this agent.db numbered only up to ${m.ownMax} (put back from a backup, or made anew): `
    + `${m.moved.length} outbox entries the hub had not stored moved above ${m.hubMax}, so they are not taken for ones it has`;
  logger.warn({ hubMax: m.hubMax, ownMax: m.ownMax, moved: m.moved.length }, message);
  emit({ kind: 'error', code: 'SEQ_BEHIND_HUB', message, data: { hubMax: m.hubMax, ownMax: m.ownMax, moved: m.moved.length } });
}
