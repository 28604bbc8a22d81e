// The one place MQTT topic strings are built and parsed (docs/architecture.md section 5).
import { DeviceId } from './common.js';

export const TOPIC_ROOT = 'ef/v1';
export const TRUST_TOPIC = `${TOPIC_ROOT}/trust`;

export const DEVICE_TOPIC_KINDS = ['desired', 'state', 'presence', 'telemetry', 'events', 'ack', 'blob/get', 'blob/data', 'capture', 'capture/ack'] as const;
export type DeviceTopicKind = (typeof DEVICE_TOPIC_KINDS)[number];

/** Who publishes on each device topic. */
export const TOPIC_DIRECTION: Record<DeviceTopicKind, 'hub' | 'device'> = {
  desired: 'hub',
  ack: 'hub',
  'blob/data': 'hub',
  state: 'device',
  presence: 'device',
  telemetry: 'device',
  events: 'device',
  'blob/get': 'device',
  capture: 'device',
  'capture/ack': 'hub',
};

export function deviceTopic(deviceId: string, kind: DeviceTopicKind): string {
  if (!DeviceId.safeParse(deviceId).success) throw new Error(`invalid device id for a topic: ${JSON.stringify(deviceId)}`);
  return `${TOPIC_ROOT}/d/${deviceId}/${kind}`;
}

export type ParsedTopic = { kind: 'trust' } | { kind: 'device'; deviceId: string; topic: DeviceTopicKind };

/** Parses a concrete topic (no wildcards); anything not in the table gives null. */
export function parseTopic(topic: string): ParsedTopic | null {
  if (topic === TRUST_TOPIC) return { kind: 'trust' };
  const prefix = `${TOPIC_ROOT}/d/`;
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const deviceId = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (!DeviceId.safeParse(deviceId).success) return null;
  if (!(DEVICE_TOPIC_KINDS as readonly string[]).includes(kind)) return null;
  return { kind: 'device', deviceId, topic: kind as DeviceTopicKind };
}

/** The subscription filter matching every device's topic of one kind (for the hub). */
export function allDevicesFilter(kind: DeviceTopicKind): string {
  return `${TOPIC_ROOT}/d/+/${kind}`;
}
