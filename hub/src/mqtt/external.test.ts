// The external-broker FleetLink against a real Mosquitto started here on a free
// port, configured only with the files `mosquitto-config` generates: the same
// shared suite as the embedded broker. Skipped (with a message) when Mosquitto is
// not installed; .ci/run installs it.
import { describe } from 'node:test';
import { existsSync } from 'node:fs';
import { createExternalLink } from './external.js';
import { fleetLinkSuite } from './testing/fleet-link-suite.js';
import { MemoryDevices, RecordingLogger, RecordingMetrics, connectDevice } from './testing/devices.js';

import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';
import { waitFor } from '@edgefleet/examples';

const MAX_PAYLOAD = 16 * 1024;

if (!existsSync(MOSQUITTO)) {
  describe('FleetLink: external Mosquitto', { skip: `${MOSQUITTO} not installed (apt-get install -y mosquitto)` }, () => {});
} else {
  fleetLinkSuite('external Mosquitto', async (list) => {
    const devices = new MemoryDevices();
    for (const d of list) devices.add(d.id, d.secret);
    const mosq = await startMosquitto(list);
    const link = createExternalLink({
      url: mosq.url, username: mosq.hub.user, password: mosq.hub.password, clientId: mosq.hub.user, shareGroup: 'edgefleet',
      devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
    });
    await link.start();
    return {
      link, url: mosq.url, devices, maxPayloadBytes: MAX_PAYLOAD,
      caps: { subackRefusals: false, refusesClientIdMismatch: false, kicksOnRevoke: false },
      async revoke(id) {
        devices.revoked.add(id);
        const secret = list.find((d) => d.id === id)?.secret ?? '';
        await mosq.regenerate(list.filter((d) => !devices.revoked.has(d.id)));
        // Wait until the reload is in effect (the suite then asserts the refusal).
        await waitFor(`mosquitto refusing ${id} after the reload`, () =>
          connectDevice(mosq.url, id, secret).then((c) => { c.end(true); return false; }, () => true), { timeoutMs: 10_000, intervalMs: 50 });
      },
      async close() {
        await link.stop();
        await mosq.stop();
      },
    };
  });
}
