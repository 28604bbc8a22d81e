// The told devices of a model rollout's wave that did not install its version (docs/rollouts.md "Gates"):
// named with their status and reason on install_success's note, recorded on the wave when it fails, and
// shown on each device's row after the rollback (which marks their rows superseded, hiding why), every one of them.
import type { NotInstalled, NotInstalledDevice } from '@edgefleet/shared';

/**
 * Devices the wave's summary names (view, audit entry), by place; the note names the first NOTE_DEVICES. Every one
 * is kept on its rollout row (rollouts-repo keepNotInstalled: bounded by the rollout's devices, one each) and
 * listed a page at a time by GET /rollouts/{id}/not-installed.
 */
export const RECORD_DEVICES = 20;
const NOTE_DEVICES = 5;
/** A device's reason as recorded (cut): its first REASON_CHARS characters. */
const REASON_CHARS = 160;

type Status = NotInstalled['devices'][number]['status'];
const STATUSES: ReadonlySet<string> = new Set<Status>(['failed', 'refused', 'rolled_back']);

/** Whether a deployment status is a told device's not installing the version. */
export const notInstalling = (status: string | undefined): status is Status => status !== undefined && STATUSES.has(status);

export const cut = (s: string | null) => (s === null || s.length <= REASON_CHARS ? s : `${s.slice(0, REASON_CHARS - 1)}…`);

/** Each of `rows` (the told devices not installed, by place) as kept on its rollout row: every one, its reason cut. */
export const notInstalledRows = (rows: ReadonlyArray<{ deviceId: string; status: Status; reason: string | null }>): NotInstalledDevice[] =>
  rows.map((d) => ({ deviceId: d.deviceId, status: d.status, reason: cut(d.reason) }));

/** The wave's summary of `rows` (in the view, the audit entry): the first RECORD_DEVICES and how many more. */
export function notInstalledRecord(rows: ReadonlyArray<{ deviceId: string; status: Status; reason: string | null }>): NotInstalled {
  return { devices: notInstalledRows(rows.slice(0, RECORD_DEVICES)), more: Math.max(0, rows.length - RECORD_DEVICES) };
}

const one = (d: NotInstalled['devices'][number]) => `${d.deviceId} ${d.status}${d.reason ? ` (${d.reason})` : ''}`;

/** install_success's words for them, or null when every told device installed or is still at it. */
export function notInstalledNote(n: NotInstalled): string | null {
  const total = n.devices.length + n.more;
  if (!total) return null;
  const named = n.devices.slice(0, NOTE_DEVICES);
  return `not installed: ${named.map(one).join(', ')}${total > named.length ? `, and ${total - named.length} more` : ''}`;
}

/**
 * A device's row in a rolled back rollout whose failed wave recorded it: `rolled_back (had refused: CODE: …)`,
 * or `rolling back: pending (had refused: …)` until it reports its previous version active again.
 */
export function withHad(status: string, d: NotInstalled['devices'][number] | undefined): string {
  if (!d || !(status === 'rolled_back' || status.startsWith('rolling back: '))) return status;
  return `${status} (had ${d.status}${d.reason ? `: ${d.reason}` : ''})`;
}
