// Every action the hub's audit log records (docs/hub.md "REST API", after the table; GET /audit). The hub can append no
// other (AuditRecord.action is this type), so GET /audit?action= refuses a name that is none of these and
// that no entry carries, instead of answering an empty page for a misspelt filter.
import { closest } from '../cli/suggest.js';

export const AUDIT_ACTIONS = [
  'alert.ack', 'alert.unack', 'alert_rule.create', 'alert_rule.delete', 'drift_report.create', 'drift_settings.update',
  'capture.create', 'capture.fetch', 'capture.purge', 'capture.stop', 'capture.upload_started', 'capture.upload_ended',
  'config.set',
  'deployment.create', 'deployment.undeploy',
  'device.add', 'device.enroll', 'device.revoke', 'device.rotate-secret', 'device.tags', 'device.key', 'device.key_changed', 'device.replaced',
  'device.clock_skewed', 'device.clock_ok', 'device.quota_exceeded', 'device.credentials_in_use_twice',
  'enrollment-token.create', 'enrollment-token.revoke',
  'model.push', 'model.repush', 'model.deprecate', 'model.delete', 'model.bundle_drop', 'model.content_key',
  'retrain.request',
  'rollout.create', 'rollout.promote', 'rollout.unaccept', 'rollout.paused', 'rollout.resumed', 'rollout.aborted', 'rollout.rolled_back',
  'rollout.completed', 'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_passed',
  'rollout.wave_failed', 'rollout.wave_next', 'rollout.device_replaced', 'rollout.device_left',
  'token.create', 'token.revoke',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What an entry's `action` can be: an action, or `<action>.incomplete`, a side effect that failed after the action's write committed (hub/src/api/http.ts afterCommit). */
export type LoggedAction = AuditAction | `${AuditAction}.incomplete`;

const KNOWN: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

export function isLoggedAction(s: string): s is LoggedAction {
  return KNOWN.has(s.endsWith('.incomplete') ? s.slice(0, -'.incomplete'.length) : s);
}

/** Why `s` is no action the hub records: the one it was likely meant to be, else the families of actions. */
export function unknownActionText(s: string): string {
  const near = closest(s, AUDIT_ACTIONS);
  const families = [...new Set(AUDIT_ACTIONS.map((a) => `${a.slice(0, a.indexOf('.'))}.*`))].join(', ');
  return `no audit entry has action ${JSON.stringify(s)} and the hub records no such action: expected ${near ? `"${near}"?` : `one of its ${AUDIT_ACTIONS.length} actions (${families}; docs/hub.md "REST API")`}`;
}
