// Messages from the hub to one device on the embedded broker, written to that device's connection only
// (aedes' Client.publish), not through aedes' delivery queue: there a message waiting for one full
// socket holds one of 100 slots that every device's messages need, so one device that stops reading
// stalled all of them (docs/mqtt.md "Slow devices"). No one else may subscribe to a device's topics
// (docs/architecture.md section 5), so nothing else changes.
import type { Client } from 'aedes';
import { deviceTopic } from '@edgefleet/shared';
import type { MetricsPort, OutgoingKind } from './ports.js';

/** Bytes not yet written out to one device past which acks and blocks to it are dropped (docs/mqtt.md "Slow devices"). */
export const DEVICE_BACKLOG_BYTES = 2 * 1024 * 1024;

type ClientInternals = { subscriptions?: Record<string, unknown> };

export class DeviceSender {
  /** Bytes handed to a device's connection, not yet written out. */
  private readonly unsent = new Map<string, number>();

  /** `client`: the device's connected aedes client, if any. */
  constructor(private readonly client: (deviceId: string) => Client | undefined, private readonly metrics: MetricsPort) {}

  /**
   * A block resolves once written out (the blob server then sends the device's next one), anything else
   * once handed over, so a caller awaiting many devices (a deployment's documents) waits for none.
   * False when dropped for the device's backlog (never a desired document: the device resends or asks
   * again for the rest).
   */
  send(deviceId: string, kind: OutgoingKind, payload: Buffer, qos: 0 | 1): Promise<boolean> {
    const topic = deviceTopic(deviceId, kind);
    const client = this.client(deviceId);
    if (!client || client.closed || !(client as unknown as ClientInternals).subscriptions?.[topic]) return Promise.resolve(true); // as aedes' publish with no subscriber
    const waiting = this.unsent.get(deviceId) ?? 0;
    if (kind !== 'desired' && waiting >= DEVICE_BACKLOG_BYTES) {
      this.metrics.inc('edgefleet_mqtt_messages_dropped_total', { kind });
      return Promise.resolve(false);
    }
    this.unsent.set(deviceId, waiting + payload.length);
    return new Promise((resolve, reject) => {
      client.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) => {
        const left = (this.unsent.get(deviceId) ?? 0) - payload.length;
        if (left > 0) this.unsent.set(deviceId, left);
        else this.unsent.delete(deviceId);
        return err ? reject(err) : resolve(true);
      });
      if (kind !== 'blob/data') resolve(true);
    });
  }

  clear(): void {
    this.unsent.clear();
  }
}
