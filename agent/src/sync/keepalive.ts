// When the agent gives its MQTT link up (docs/agent.md "Connecting to a hub", sync.keepaliveSec).
// MQTT.js counts only acks and PINGRESP as signs of life: it sends a PINGREQ after keepalive seconds
// without one and closes the link 1.5 × keepalive after. On a slow link the PINGRESP waits behind a
// model block (1 MiB at 16 KiB/s is 64 s), so the link that was carrying the download was closed every
// 45 s, mid-block, and the download began that block again for ever (test/src/scenarios/slow-link.test.ts).
// Here any byte from the broker counts: the link is given up when nothing at all has arrived for
// 1.5 × keepalive (checked every keepalive / 2, so within 2 × keepalive of the last byte), which a
// silent link (a NAT that forgot it, no FIN, no RST) still is. While bytes arrive but no PINGRESP, a
// PINGREQ still goes every keepalive, so the broker, which hears nothing else from an idle box, keeps it.
import type { MqttClient } from 'mqtt';

export function keepLinkWhileReceiving(client: MqttClient, keepaliveSec: number, now: () => number = Date.now): void {
  const keepaliveMs = keepaliveSec * 1000;
  let lastByte = now();
  let lastPing = 0;
  const watched = new WeakSet<object>();
  const watch = (): void => {
    const stream = client.stream as unknown as { on(e: 'data', f: () => void): void } | undefined;
    if (!stream || watched.has(stream)) return;
    watched.add(stream);
    lastByte = now();
    stream.on('data', () => {
      lastByte = now();
    });
  };
  // Each connection has a new stream; the keepalive runs from its CONNACK on.
  client.on('connect', watch);
  const giveUp = client.onKeepaliveTimeout.bind(client);
  client.onKeepaliveTimeout = () => {
    const t = now();
    if (t - lastByte >= 1.5 * keepaliveMs) {
      giveUp();
      return;
    }
    if (t - lastPing >= keepaliveMs) {
      lastPing = t;
      client.sendPing();
    }
  };
}
