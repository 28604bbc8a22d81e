// A simulated device's session (simulator.ts): its MQTT client, its outbox of unacked messages
// (one monotonic seq space, resent until the hub acks) and what it received.
import type { MqttClient } from 'mqtt';
import type { DesiredFollower } from './follow.js';
import type { SimDevice } from './simulator.js';

export interface OutboxEntry {
  kind: 'telemetry' | 'events';
  payload: string;
  /** When the broker took it (its PUBACK; when it was sent until then): its wait for the hub's ack starts there. */
  sentAt: number;
  /** Times sent: each resend doubles the wait, as the agent's outbox does. */
  sends: number;
  left: number;
}

/** The agent's resend wait (agent/src/sync/drain-timer.ts resendWait; docs/decisions/0186-resends-wait-from-the-broker-and-back-off.md). */
export const resendWaitMs = (e: OutboxEntry, resendMs: number): number => resendMs * Math.min(8, 2 ** Math.max(0, e.sends - 1));

export interface DeviceSession {
  dev: SimDevice;
  client: MqttClient;
  seq: number;
  /** Unacked seq → the message that carried it. */
  outbox: Map<number, OutboxEntry>;
  desired: Buffer[];
  /** seq of the newest desired document received. */
  desiredSeq: number;
  follower: DesiredFollower | null;
}

/** Removes the acked seqs from `outbox`; a message leaves it when every seq it carried is acked. */
export function applyAck(outbox: Map<number, OutboxEntry>, ranges: ReadonlyArray<readonly [number, number]>): void {
  for (const [from, to] of ranges) {
    for (let q = from; q <= to; q++) {
      const e = outbox.get(q);
      if (!e) continue;
      outbox.delete(q);
      e.left--;
    }
  }
}

export function jsonOrNull(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
}
