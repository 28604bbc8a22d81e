// A capture in progress on the box and the words of why it ended (docs/agent.md "Data capture"); capturer.ts
// samples into it and seals what it holds.
import type { DesiredCapture } from '@edgefleet/shared';
import type { CaptureStatus } from './store.js';

export interface Active {
  spec: DesiredCapture;
  /** Bytes of rows per chunk the hub asks for (its maxPayloadBytes takes no larger), from its newest document. */
  hubChunkBytes: number | undefined;
  until: number;
  /** Rows taken so far (stored and buffered). */
  rows: number;
  lines: string[];
  /** UTF-8 bytes of `lines` with their newlines (the plaintext of the next chunk). */
  bytes: number;
  /** Plaintext bytes handed to sealing and not stored yet. */
  sealing: number;
  skipped: number;
  /** Of `skipped`: rows of chunks a full disk refused. */
  diskSkipped: number;
  /** Ended, and its last chunk waits for room on the disk: each tick tries to store it again. */
  ending?: { status: CaptureStatus; why: string };
  /** Requests of the model (and version) answered while it captured, sampled or not; `resumed`: counted since a restart. */
  seen: number;
  resumed?: boolean;
  /** Its last chunk is stored: chunks still waiting to be sealed are not. */
  closed?: boolean;
}

/**
 * Why a capture ended on this box, for the hub (its last chunk's `reason`, docs/hub.md "Data capture"):
 * `why`, the rows kept and skipped, and how many requests of its model were answered here (none: the
 * box may not run the model or version asked for).
 */
export function endReason(a: Active, why: string): string {
  const what = `${a.spec.model}${a.spec.version ? ` ${a.spec.version}` : ''}`;
  const since = a.resumed ? ' since the agent restarted' : '';
  const seen = a.seen === 0 ? `no request of ${what} answered here${since} (does this device run it?)` : `${a.seen} requests of ${what} answered${since}`;
  const disk = a.diskSkipped ? ` (${a.diskSkipped} refused by a full disk)` : '';
  return `${why}; ${seen}; ${a.rows} rows kept, ${a.skipped} skipped${disk}`;
}
