// How long one attempt to reach the broker may take, TCP and TLS and CONNECT to CONNACK (docs/agent.md
// "Connecting to a hub", docs/decisions/0084-connect-timeout-grows-with-the-link.md). It was fixed at
// 10 s: a satellite link whose TLS handshake and CONNECT take longer never connected, each attempt cut
// at 10 s and begun again; and in a reconnect storm against a loaded hub, a device whose CONNACK was
// late gave up the CONNECT the hub was already working on and joined the queue again
// (docs/performance.md "reconnect storm": a second wave of thousands). Now an attempt that timed out doubles the next one's limit
// up to CONNECT_TIMEOUT_MAX_MS, and a connection made sets it to twice what that attempt took, never
// below CONNECT_TIMEOUT_MS: a slow link keeps the room it needed, a fast one comes back to 10 s, and a
// hub that accepts TCP but never answers still costs an attempt at most a minute.
import type { MqttClient } from 'mqtt';

export const CONNECT_TIMEOUT_MS = 10_000;
export const CONNECT_TIMEOUT_MAX_MS = 60_000;

export class ConnectTimeout {
  private current: number;
  private startedAt: number | null = null;

  constructor(private readonly base = CONNECT_TIMEOUT_MS, private readonly max = Math.max(base, CONNECT_TIMEOUT_MAX_MS)) {
    this.current = base;
  }

  /** The limit of the next attempt, in ms. */
  get ms(): number {
    return this.current;
  }

  /** An attempt began at `now`. */
  attempt(now: number): void {
    this.startedAt = now;
  }

  /** The attempt got no CONNACK in time: the next one may take twice as long. */
  timedOut(): number {
    this.startedAt = null;
    this.current = Math.min(this.max, this.current * 2);
    return this.current;
  }

  /** The attempt connected at `now`: the next may take twice as long as this one did. */
  connected(now: number): number {
    if (this.startedAt !== null) this.current = Math.min(this.max, Math.max(this.base, 2 * (now - this.startedAt)));
    this.startedAt = null;
    return this.current;
  }
}

/** MQTT.js's message for an attempt cut by its connectTimeout (mqtt/build/lib/client.js `_onConnackTimeout`). */
const CONNACK_TIMEOUT = 'connack timeout';

/**
 * Sets `client.options.connectTimeout`, which MQTT.js reads when each attempt starts, from `t`. Call
 * right after `mqtt.connect` (its first attempt is under way) and before the client's other 'error'
 * listeners, so what they log is the next attempt's limit.
 */
export function adaptConnectTimeout(client: MqttClient, t: ConnectTimeout, now: () => number = Date.now): void {
  t.attempt(now());
  client.on('reconnect', () => t.attempt(now()));
  client.on('connect', () => {
    client.options.connectTimeout = t.connected(now());
  });
  client.on('error', (err) => {
    if (err.message === CONNACK_TIMEOUT) client.options.connectTimeout = t.timedOut();
  });
}
