// A page opened for one thing by its address (a device, a rollout, a deployment, a model version, a capture, an
// alert, a drift report) that the hub says it does not have (404 NOT_FOUND: deleted by retention, revoked, a stale
// bookmark): said in words with a link to its list, "No device d-7 on this hub. Back to devices", chosen by the kind the
// hub's `details` name, never by the message's words (docs/decisions/0181-not-found-names-its-kind.md).
import type { NotFoundKind } from '@edgefleet/shared';
import { ApiError } from '../api.js';

/** What each kind is called and the list it is found in; null for a kind no page is opened for by its address. */
const LISTS: Record<NotFoundKind, readonly [noun: string, href: string, list: string] | null> = {
  device: ['device', '#/fleet', 'devices'],
  rollout: ['rollout', '#/rollouts', 'rollouts'],
  deployment: ['deployment', '#/deployments', 'deployments'],
  model: ['model', '#/models', 'models'],
  model_version: ['model version', '#/models', 'models'],
  capture: ['capture', '#/captures', 'captures'],
  alert: ['alert', '#/alerts', 'alerts'],
  alert_rule: ['alert rule', '#/alerts', 'alerts'],
  drift_report: ['drift report', '#/drift', 'drift'],
  token: null, enrollment_token: null, config_version: null, capture_chunks: null, blob: null, route: null,
};

export interface Missing { kind: NotFoundKind; id: string | number }

/** The thing a 404 says is missing, when its details name a kind a page is opened for; else null (an older hub's 404, a route). */
export function missingOf(err: unknown): Missing | null {
  if (!(err instanceof ApiError) || err.status !== 404) return null;
  const d = err.details as { kind?: unknown; id?: unknown } | null | undefined;
  const kind = d?.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(LISTS, kind) || !LISTS[kind as NotFoundKind]) return null;
  return typeof d?.id === 'string' || typeof d?.id === 'number' ? { kind: kind as NotFoundKind, id: d.id } : null;
}

/** "No device d-7 on this hub. Back to devices" (the link to its list). */
export function MissingBox({ m }: { m: Missing }) {
  const [noun, href, list] = LISTS[m.kind] ?? [m.kind, '#/fleet', 'the fleet'];
  return <p class="state missing" role="alert" data-testid="missing">No {noun} <span class="mono">{String(m.id)}</span> on this hub. <a href={href}>Back to {list}</a></p>;
}
