// What a device says about itself on its page (docs/console.md "Device"), in a real Chromium against a real
// hub, the device on the hub's broker with mqtt.js: the runtime backend it runs models on and its capabilities
// as it reported them (GET /devices/{id}'s `reported.backend` and `reported.capabilities`), and how many times
// its agent started. A real agent's (native) is checked by test/src/cli/devices-show.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { DeviceInfo } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn } from './helpers.js';
import { connectDevice, reportState, startSmallHub, type SmallHub } from './small-hub.js';

describe('console: a device\'s runtime and capabilities', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let c: MqttClient | undefined;
  before(async () => { h = await startSmallHub('ef-console-device-runtime-', ['box-wasm', 'box-quiet']); });
  after(async () => {
    await c?.endAsync(true);
    await h?.stop();
  });

  it('shows the backend and capabilities the box reported, and says when it reported none', async () => {
    c = await connectDevice(h, 'box-wasm');
    await reportState(c, 'box-wasm', { m: '1.0.0' }, { capabilities: ['blob-blocks', 'outbox-v1', 'backend-wasm'], starts: 3 });
    const d = await waitFor('the state stored', async () => {
      const x = await h.api<DeviceInfo>('GET', '/devices/box-wasm');
      return x.reported ? x : undefined;
    }, { timeoutMs: 20_000 });
    assert.deepEqual({ backend: d.reported!.backend, capabilities: d.reported!.capabilities, starts: d.reported!.starts }, { backend: 'wasm', capabilities: ['blob-blocks', 'outbox-v1', 'backend-wasm'], starts: 3 });

    const page = await signIn(h.browser, h.http, h.token);
    const go = (hash: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);
    await go('#/devices/box-wasm');
    await page.getByTestId('device-runtime').filter({ hasText: 'wasm backend' }).waitFor();
    assert.equal(await page.getByTestId('device-capabilities').textContent(), 'blob-blocks outbox-v1 backend-wasm');
    assert.equal(await page.getByTestId('device-agent').textContent(), '0.1.0, started 3 times');

    // A box that reported a state without a backend (an older agent): said so, not guessed.
    const q = await connectDevice(h, 'box-quiet');
    try {
      await reportState(q, 'box-quiet', {});
      await waitFor('its state stored', async () => ((await h.api<DeviceInfo>('GET', '/devices/box-quiet')).reported ? true : undefined), { timeoutMs: 20_000 });
      await go('#/devices/box-quiet');
      await page.getByTestId('device-runtime').filter({ hasText: 'not reported' }).waitFor();
      assert.equal(await page.getByTestId('device-capabilities').textContent(), '—');
    } finally {
      await q.endAsync(true);
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
