// The hub's maxPayloadBytes against the sync.outbox.maxMessageBytes its configuration documents give the
// agents (docs/hub.md "Config" and "Agent configuration"): an agent batches telemetry up to that size, and a
// publish over the hub's limit is refused by its broker, closing the connection; the agent reconnects and
// sends the same batch first again, for ever, and nothing behind it reaches the hub. A device that no
// fleet document gives a value uses the agents' default (192 KiB). Checked at each PUT and at hub start.
import { AppError, DEFAULT_OUTBOX_MESSAGE_BYTES, type RemoteSettings } from '@edgefleet/shared';
import type { ConfigRow } from './repo.js';

export const OUTBOX_FIELD = 'sync.outbox.maxMessageBytes';

const LIMIT = "this hub's maxPayloadBytes, the largest MQTT message it accepts from a device";

/** The value a scope's document gives the devices it reaches, or, for the fleet, what they use without one. */
function outboxBytes(scope: string, settings: RemoteSettings): { bytes: number; set: boolean } | null {
  const v = settings[OUTBOX_FIELD];
  if (typeof v === 'number') return { bytes: v, set: true };
  return scope === 'fleet' ? { bytes: DEFAULT_OUTBOX_MESSAGE_BYTES, set: false } : null;
}

/** A PUT of `scope`'s document that would have devices send more than `max` bytes: CONFIG_INVALID naming the field. */
export function checkOutboxPut(scope: string, settings: RemoteSettings, max: number): void {
  const o = outboxBytes(scope, settings);
  if (!o || o.bytes <= max) return;
  const message = o.set
    ? `${OUTBOX_FIELD}: expected at most ${max} bytes (${LIMIT}) (got ${o.bytes})`
    : `${OUTBOX_FIELD}: expected in the fleet document, at most ${max} bytes (${LIMIT}): without it the agents send up to their default ${DEFAULT_OUTBOX_MESSAGE_BYTES} bytes`;
  throw new AppError('CONFIG_INVALID', message, { details: { field: OUTBOX_FIELD } });
}

/**
 * At hub start, the newest document of every scope (and the agents' default when the fleet document sets
 * none) against `max`: CONFIG_INVALID naming maxPayloadBytes, the documents over it and how to lower them.
 */
export function checkOutboxAtStart(docs: readonly Pick<ConfigRow, 'scope' | 'version' | 'settings'>[], max: number): void {
  const fleet = docs.find((d) => d.scope === 'fleet');
  const over = [...(fleet ? [] : [{ scope: 'fleet', version: 0, settings: {} }]), ...docs].flatMap((d) => {
    const o = outboxBytes(d.scope, d.settings);
    if (!o || o.bytes <= max) return [];
    return [{ bytes: o.bytes, what: o.set ? `${d.scope} version ${d.version} sets ${o.bytes}` : `the agents' default ${o.bytes} (no fleet document sets it)` }];
  });
  if (!over.length) return;
  const most = Math.max(...over.map((o) => o.bytes));
  throw new AppError('CONFIG_INVALID', `maxPayloadBytes: ${max} is below the ${OUTBOX_FIELD} the agents are given (${over.slice(0, 5).map((o) => o.what).join('; ')}${over.length > 5 ? `; ${over.length - 5} more` : ''}), `
    + `so their telemetry batches would be refused by the broker: expected at least ${most}, or first lower that setting to at most ${max} with the hub at its current limit `
    + `(edgefleet config set fleet --set ${OUTBOX_FIELD}=${max} --reason TEXT, and each scope named) and restart once the devices report it applied (edgefleet config show fleet --devices)`, { details: { field: 'maxPayloadBytes' } });
}
