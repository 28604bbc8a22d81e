// What the operator CLI adds to the hub's NOT_FOUND: the command that lists what the id was looked for among. The
// hub's answer names the id it does not hold (`no device "d-7"`) but not where to find the right one; the CLI, which
// knows its own commands, says it (`hub: no device "d-7" (edgefleet devices ls lists them)`). Chosen by the kind the
// hub's `details` name (`{kind: 'device', id: 'd-7'}`), never by the message's words, which may be reworded
// (docs/decisions/0181-not-found-names-its-kind.md): `deploy --devices d-7` is told of the devices, not of the deployments.
import { NotFoundDetails, type NotFoundKind } from '@edgefleet/shared';

/** The command that lists each kind of thing; null where there is none to point to (a route, a blob, purged chunks). */
const LISTED_BY: Record<NotFoundKind, string | null> = {
  device: 'edgefleet devices ls',
  rollout: 'edgefleet rollout ls',
  deployment: 'edgefleet deployments ls',
  token: 'edgefleet tokens ls',
  enrollment_token: 'edgefleet enroll-token ls',
  drift_report: 'edgefleet drift-reports ls',
  alert_rule: 'edgefleet alerts rules ls',
  alert: 'edgefleet alerts ls',
  model: 'edgefleet model ls',
  model_version: 'edgefleet model ls',
  capture: 'edgefleet capture ls',
  config_version: null,
  capture_chunks: null,
  blob: null,
  route: null,
};

/**
 * `message` (the hub's NOT_FOUND) with the command that lists the kind of thing its `details` name, unless the
 * message names a command already; as it is when the details name no kind (a hub before kinds, a file not found).
 */
export function notFoundHint(message: string, details: unknown): string {
  if (message.includes('edgefleet ')) return message;
  const d = NotFoundDetails.safeParse(details);
  const listed = d.success ? LISTED_BY[d.data.kind] : null;
  return listed ? `${message} (${listed} lists them)` : message;
}
