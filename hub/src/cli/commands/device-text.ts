// `edgefleet devices show` for people (docs/cli.md "devices show"): what a device runs and how it is
// doing at a glance, from GET /devices/{id}; `--json` prints that answer as it is.
import { modelVersions, modelsOf, type DeviceInfo } from '@edgefleet/shared';
import { formatBytes, keyValues, table } from '../output.js';

/** A length of time in its largest whole unit: "400d", "3h", "5m", "12s". */
export function shortDuration(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 86_400_000) return `${Math.round(a / 86_400_000)}d`;
  if (a >= 3_600_000) return `${Math.round(a / 3_600_000)}h`;
  if (a >= 60_000) return `${Math.round(a / 60_000)}m`;
  return `${Math.round(a / 1000)}s`;
}

/** The device's clock against the hub's: "-" unmeasured, "+400d" ahead, "-3m" behind, "ok" within a second. */
export function clockCell(c: DeviceInfo['clock']): string {
  if (!c) return '-';
  if (Math.abs(c.offsetMs) < 1000) return 'ok';
  return `${c.offsetMs > 0 ? '+' : '-'}${shortDuration(c.offsetMs)}`;
}

/** Tags as `k=v` joined by `sep`. */
export function tagsText(tags: DeviceInfo['tags'], sep = ','): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(sep);
}

/** An ISO time with its age against `now`: "2026-12-05T14:00:00.000Z (12s ago)", and `more` in the brackets. */
function withAge(iso: string, now: Date, more = ''): string {
  const ms = now.getTime() - Date.parse(iso);
  return `${iso} (${ms < 0 ? `${shortDuration(ms)} ahead of this machine's clock` : `${shortDuration(ms)} ago`}${more})`;
}

/** The box's own time is printed beside the hub's once they differ by this much (below it, the hub's alone). */
export const BOX_TIME_SHOWN_MS = 60_000;

/**
 * A time the box stamped by its own clock (its reported state, a refusal), placed on the hub's clock by the box's
 * offset (GET /devices/{id} `clock`: device time − hub time, docs/operations.md "Clocks that are wrong"), with its
 * age; when the two differ by BOX_TIME_SHOWN_MS or more, the box's own time too, labelled. The offset is the one
 * measured last: a clock put right since moved what it stamped before by as much (its own time says so).
 * Unmeasured: the box's time, labelled.
 */
export function boxTime(iso: string, clock: DeviceInfo['clock'], now: Date): string {
  if (!clock) return withAge(iso, now, "; the box's clock, not measured against the hub's");
  if (Math.abs(clock.offsetMs) < 1000) return withAge(iso, now);
  const hub = new Date(Date.parse(iso) - clock.offsetMs).toISOString();
  return withAge(hub, now, Math.abs(clock.offsetMs) < BOX_TIME_SHOWN_MS ? '' : `; box's clock: ${iso}`);
}

function configText(c: NonNullable<DeviceInfo['reported']>['config']): string {
  if (!c) return '- (not reported)';
  const running = c.sha256 ? `sha256 ${c.sha256.slice(0, 12)}` : 'no remote settings';
  if (c.status !== 'failed') return `${c.status} (${running})`;
  const e = c.error;
  return `refused${e ? ` ${e.sha256.slice(0, 12)}: [${e.code}] ${e.message}${e.field ? ` (field ${e.field})` : ''}` : ''}; runs ${running}`;
}

/** One row per model: its active version, the one a rollback returns to, its status and its other installed versions. */
function modelRows(models: DeviceInfo['models']): string[][] {
  return modelsOf(models).map(({ name, active, others }) => [name, active?.version ?? '-', active?.previous ?? '-', active?.status ?? 'installed', others.join(',') || '-']);
}

/**
 * `devices ls`'s ACTIVE and INSTALLED cells: each model's active version (with its status when not
 * `active`, e.g. `m@1.0.0 (downloading)` while the next one comes), then the other versions installed.
 */
export function modelCells(models: DeviceInfo['models']): [string, string] {
  const v = modelVersions({ models });
  return [v.active.map((a) => `${a.name}@${a.version}${a.status === 'active' ? '' : ` (${a.status})`}`).join(',') || '-', v.installed.join(',') || '-'];
}

/** Its box enrolled again under another id (docs/decisions/0155-a-box-enrolled-again-replaces-its-old-id.md): by which, since when, what it means now. */
function replacedText(d: DeviceInfo, x: NonNullable<DeviceInfo['replaced']>, now: Date): string {
  const state = d.revoked ? 'revoked' : d.online ? 'online, so it counts in rollouts as any device' : 'offline, so it is out of every rollout';
  return `by ${x.by} since ${withAge(x.at, now)} (its box enrolled again: enroll --force); ${state}${d.revoked ? '' : `; edgefleet devices revoke ${d.id} takes the old id off the fleet`}`;
}

/** The text of `edgefleet devices show ID`. */
export function deviceText(d: DeviceInfo, now: Date): string {
  const r = d.reported;
  const f = d.facts;
  const seen = d.lastSeen ? `last seen ${withAge(d.lastSeen, now)}` : 'never seen';
  const rows: Array<[string, string]> = [
    ['device', d.id],
    ['state', `${d.online ? 'online' : 'offline'}, ${seen}${d.revoked ? `; REVOKED ${d.revokedAt ?? ''}`.trimEnd() : ''}`],
    ...(d.replaced ? [['replaced', replacedText(d, d.replaced, now)] as [string, string]] : []),
    ['tags', tagsText(d.tags, ' ') || '(none)'],
    ['agent', r ? `${r.agentVersion}${f ? ` (${f.os} ${f.arch}, ${f.cpus} CPUs, ${f.memoryMb} MB)` : ''}${r.starts !== undefined ? `, started ${r.starts === 1 ? 'once' : `${r.starts} times`}` : ''}` : f ? `${f.agentVersion} at enrollment (no state reported)` : '-'],
    ['runtime', r?.backend ? `${r.backend} backend` : r ? '- (not reported)' : '-'],
    ['capabilities', r ? r.capabilities.join(' ') || '(none)' : '-'],
    ['reported', r ? `${boxTime(r.at, d.clock, now)}, desired seq ${r.lastAppliedSeq} applied` : 'never'],
    ['trust', r ? `${r.trustVersion !== undefined ? `version ${r.trustVersion}` : 'version not reported'}${r.trust ? `, ${r.trust.expired ? 'EXPIRED' : 'expires'} ${r.trust.expires}` : ''}` : '-'],
    ['config', r ? configText(r.config) : '-'],
    ['outbox', r?.outbox ? `${r.outbox.items} entries not yet acked by the hub` : '- (not reported)'],
    ['disk free', r?.disk ? `${formatBytes(r.disk.free)} of ${formatBytes(r.disk.total)} (${r.disk.total > 0 ? Math.round((r.disk.free / r.disk.total) * 100) : 0}%)` : '- (not reported)'],
    ['clock', d.clock ? `${clockCell(d.clock)}${Math.abs(d.clock.offsetMs) >= 1000 ? ` (${d.clock.offsetMs > 0 ? 'ahead of' : 'behind'} the hub)` : ''}, measured ${withAge(d.clock.measuredAt, now)}${d.clock.shiftedWindows ? `; ${d.clock.shiftedWindows} windows placed by the hub's clock` : ''}` : '- (not measured)'],
    ['last refusal', r?.refusal ? `desired seq ${r.refusal.seq}, ${boxTime(r.refusal.at, d.clock, now)}: [${r.refusal.code}] ${r.refusal.message}` : 'none'],
  ];
  // Windows of versions the registry does not hold (hub/src/ingest/parked.ts): stored once their bundles are pushed again.
  const p = d.parkedWindows;
  for (const h of d.heldBack ?? []) rows.push(['held back', `${h.model}@${h.version} (deployment ${h.deploymentId}) since ${withAge(h.since, now)}: ${h.reason}`]);
  if (p) rows.push(['parked', `${p.windows} windows (${formatBytes(p.bytes)}) of versions the registry does not hold, stored once pushed again: ${p.versions.map((v) => `${v.model}@${v.version} ${v.windows} since ${v.since}`).join(', ')}`]);
  const models = d.models.length ? table(['NAME', 'ACTIVE', 'PREVIOUS', 'STATUS', 'ALSO INSTALLED'], modelRows(d.models), '  ') : '  (none)\n';
  return `${keyValues(rows)}\nmodels:\n${models}`;
}
