// A device's old connection that closes late must not unregister its new one (docs/mqtt.md "A connection that
// closes late"). In aedes 1.2 a connection's close ends, one turn after it began, with
// `if (broker.clients[id]) broker.unregisterClient(this)`, which deletes `broker.clients[id]` whatever
// connection holds it now. A new CONNECT for the same id that registers in that turn (its data read in the same
// poll as the old connection's end: a hub busy while a box reconnected) found the old connection closed, took its
// place, and was then deleted: connected, but absent from `broker.clients`, so every message the hub sent it
// (acks, model blocks, documents: device-sender.ts) went nowhere, and nothing made the box reconnect
// (reproduced in late-close.test.ts and, over TCP, late-close-link.test.ts; the likely cause of a stolen-hub-key
// scenario run that timed out in CI). Installed on the broker by embedded.ts: a connection that is no longer the
// one registered for its id leaves the count and nothing else, and no clientDisconnect is emitted for it (the
// device is still connected).
import type { Aedes, Client } from 'aedes';

type Registry = { clients: Record<string, Client | undefined>; connectedClients: number; unregisterClient(client: Client): void };

/** Makes `broker.unregisterClient` leave alone a client id that another connection holds now. */
export function guardLateClose(broker: Aedes, onLateClose?: (deviceId: string) => void): void {
  const b = broker as unknown as Registry;
  const unregister = b.unregisterClient.bind(broker);
  b.unregisterClient = (client: Client) => {
    const current = b.clients[client.id];
    if (current !== undefined && current !== client) {
      // Counted in when it registered (aedes' _finishRegisterClient): counted out now.
      b.connectedClients--;
      onLateClose?.(client.id);
      return;
    }
    unregister(client);
  };
}
