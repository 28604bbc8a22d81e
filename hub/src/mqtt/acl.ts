// Per-device access control for the embedded broker (docs/architecture.md section 5). Pure
// functions returning null (allowed) or a reason naming what was refused and what
// is allowed instead; the broker hooks log and count the reasons.
import { TOPIC_DIRECTION, TRUST_TOPIC, deviceTopic, parseTopic } from '@edgefleet/shared';

/** Device topics a device may publish retained (its current state and presence). */
const RETAINABLE = new Set(['state', 'presence']);
const SUBSCRIBABLE = new Set(['desired', 'ack', 'blob/data', 'capture/ack']);

export interface PublishCheck {
  topic: string;
  retain: boolean;
  payloadBytes: number;
  qos: number;
}

/**
 * Devices publish at QoS 0 or 1 (docs/mqtt.md). aedes keeps each QoS 2 publish in its session until the
 * device's PUBREL, up to 1,000 per connection, and across connections in a persistent session: one
 * device withholding PUBREL held 250 MiB of the hub's memory with 256 KiB payloads.
 */
export const MAX_DEVICE_QOS = 1;

export function checkDevicePublish(deviceId: string, p: PublishCheck, maxPayloadBytes: number): string | null {
  if (p.payloadBytes > maxPayloadBytes) {
    return `payload of ${p.payloadBytes} bytes on ${p.topic} exceeds the limit of ${maxPayloadBytes} bytes`;
  }
  if (p.qos > MAX_DEVICE_QOS) {
    return `publish at QoS ${p.qos} to ${p.topic} refused: devices publish at QoS 0 or 1`;
  }
  const parsed = parseTopic(p.topic);
  if (!parsed || parsed.kind !== 'device') {
    return `publish to ${p.topic} refused: a device may publish only to ef/v1/d/${deviceId}/{state,presence,telemetry,events,blob/get,capture}`;
  }
  if (parsed.deviceId !== deviceId) {
    return `publish to ${p.topic} refused: it belongs to device ${parsed.deviceId}, not ${deviceId}`;
  }
  if (TOPIC_DIRECTION[parsed.topic] !== 'device') {
    return `publish to ${p.topic} refused: ${parsed.topic} is published by the hub only`;
  }
  if (p.retain && !RETAINABLE.has(parsed.topic)) {
    return `retained publish to ${p.topic} refused: only state and presence may be retained`;
  }
  return null;
}

/** A device subscribes to exact topics only: its own desired, ack, blob/data, capture/ack, and the trust topic. */
export function checkDeviceSubscribe(deviceId: string, filter: string): string | null {
  if (filter === TRUST_TOPIC) return null;
  if (/[+#]/.test(filter) || filter.startsWith('$')) {
    return `subscription ${filter} refused: wildcards, $SYS and $share are not allowed for devices`;
  }
  const parsed = parseTopic(filter);
  if (parsed && parsed.kind === 'device' && parsed.deviceId === deviceId && SUBSCRIBABLE.has(parsed.topic)) return null;
  return `subscription ${filter} refused: a device may subscribe only to ef/v1/d/${deviceId}/{desired,ack,blob/data,capture/ack} and ${TRUST_TOPIC}`;
}

/** A device's last will may only announce its own presence. */
export function checkDeviceWill(deviceId: string, will: { topic: string; payload: Buffer | string } | null | undefined, maxPayloadBytes: number): string | null {
  if (!will) return null;
  if (will.topic !== deviceTopic(deviceId, 'presence')) {
    return `last will on ${will.topic} refused: a device's will may only target ${deviceTopic(deviceId, 'presence')}`;
  }
  const size = typeof will.payload === 'string' ? Buffer.byteLength(will.payload) : will.payload.length;
  if (size > maxPayloadBytes) return `last will of ${size} bytes exceeds the limit of ${maxPayloadBytes} bytes`;
  return null;
}
