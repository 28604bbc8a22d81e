// Deadlines of SyncClient.stop()'s steps, and the bounded close of its MQTT connection; apart from
// the client so that the agent can budget its stop without loading the MQTT client on a box that is
// not enrolled (docs/agent.md "Stopping").
import type { MqttClient } from 'mqtt';
import { settleWithin } from '@edgefleet/shared/core';

/** The install or switch under way; publishing offline presence; closing the connection. */
export const STOP_STEP_MS = { updater: 2500, presence: 1000, close: 500 };

/** The longest SyncClient.stop() takes, whatever the hub and the updater are doing. */
export const SYNC_STOP_MS = STOP_STEP_MS.updater + STOP_STEP_MS.presence + STOP_STEP_MS.close;

/**
 * Publishes the offline presence (if connected) and closes the connection, each within its deadline,
 * without reconnecting: a hub that resets the connection now must not keep the agent retrying.
 */
export async function closeLink(c: MqttClient, presence: { topic: string; payload: string }, warn: (err: unknown) => void): Promise<void> {
  c.options.reconnectPeriod = 0;
  let acked = false;
  if (c.connected) {
    const sent = c.publishAsync(presence.topic, presence.payload, { qos: 1, retain: true }).then(() => { acked = true; });
    await settleWithin(sent, STOP_STEP_MS.presence, 'publishing offline presence', warn);
  }
  // Offline, or the presence was not acked: don't wait for in-flight packets that cannot complete.
  await settleWithin(c.endAsync(!acked), STOP_STEP_MS.close, 'closing the MQTT connection', (err) => {
    warn(err);
    // A graceful end waits for the PUBACK of every publish in flight, and MQTT.js ignores end(true) while
    // an end is under way: the socket itself goes (docs/agent.md "Stopping"; agent/src/sync/stop-force.test.ts).
    c.end(true);
    c.stream?.destroy();
  });
}
