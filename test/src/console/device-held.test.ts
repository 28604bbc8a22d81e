// The versions the hub holds back from a box, on its device page (docs/console.md "Device"; GET /devices/{id}
// `heldBack`, docs/decisions/0129-model-backends-checked.md), in a real Chromium against a real hub, the box on the
// hub's broker with mqtt.js: a version onnxruntime-web refuses (examples buildStrictShapeModel, checked at push by the
// hub's real onnxruntime) deployed to all devices waits for each box's first state report; the box then reports the
// wasm backend and the hold becomes the hub's BACKEND_UNSUPPORTED refusal, shown live: what is held, in which
// deployment, why and since when. A box with no hold shows no such table.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Deployment, DeviceInfo } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { connectDevice, pushStrictBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const UTC = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

describe('console: versions held back from a device', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let c: MqttClient | undefined;
  before(async () => {
    h = await startSmallHub('ef-console-held-', ['box-wasm', 'box-native']);
    await pushStrictBundle(h);
  });
  after(async () => {
    await c?.endAsync(true);
    await h?.stop();
  });

  it('shows what is held, in which deployment, why and since when, and follows the hold live', async () => {
    const dep = await h.api<Deployment>('POST', '/deployments', { model: 'strict', version: '1.0.0', target: { all: true }, reason: 'console test: every box' });
    const waiting = await waitFor('the hold waiting for the first report', async () => (await h.api<DeviceInfo>('GET', '/devices/box-wasm')).heldBack?.[0]);
    assert.deepEqual({ ...waiting, reason: waiting.reason.slice(0, 40) }, { deploymentId: dep.id, model: 'strict', version: '1.0.0', reason: 'waiting for the box\'s first state report', since: waiting.since });

    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/devices/box-wasm'; });
    const table = page.getByRole('table', { name: 'Held back by the hub' });
    const cells = () => table.locator('tbody tr').first().locator('td').allTextContents();
    await table.waitFor();
    assert.equal(await page.getByText('No model reported; what the box is assigned the hub holds back (below).').count(), 1, 'not "no model assigned"');
    let row = await cells();
    assert.deepEqual(row.slice(0, 2), ['strict@1.0.0', String(dep.id)]);
    assert.match(row[2] ?? '', new RegExp(`^${UTC(waiting.since)} \\(.* ago\\)$`));
    assert.equal(row[3], waiting.reason, 'the hub\'s reason in full');
    assert.equal(await table.getByRole('link', { name: 'strict@1.0.0' }).getAttribute('href'), '#/models/strict/1.0.0');
    assert.equal(await table.getByRole('link', { name: String(dep.id), exact: true }).getAttribute('href'), `#/deployments/${dep.id}`);

    // The box says it runs the wasm backend: the hub refuses the version for it, and the open page follows.
    c = await connectDevice(h, 'box-wasm');
    await reportState(c, 'box-wasm', {}, { capabilities: ['backend-wasm'] });
    const refused = await waitFor('the hold for the backend', async () => {
      const x = (await h.api<DeviceInfo>('GET', '/devices/box-wasm')).heldBack?.[0];
      return x?.reason.startsWith('BACKEND_UNSUPPORTED') ? x : undefined;
    }, { timeoutMs: 20_000 });
    await table.locator('td.error').filter({ hasText: 'BACKEND_UNSUPPORTED: the box runs the wasm backend, which cannot load strict 1.0.0' }).waitFor();
    row = await cells();
    assert.match(row[2] ?? '', new RegExp(`^${UTC(refused.since)} \\(`));
    assert.equal(row[3], refused.reason);

    // A box that reports a backend loading it is sent the version: no hold, no table.
    const n = await connectDevice(h, 'box-native');
    try {
      await reportState(n, 'box-native', {}, { capabilities: ['backend-native'] });
      await waitFor('box-native sent 1.0.0', async () => ((await h.api<DeviceInfo>('GET', '/devices/box-native')).heldBack === undefined ? true : undefined), { timeoutMs: 20_000 });
    } finally {
      await n.endAsync(true);
    }
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/devices/box-native'; });
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    await page.locator('h1').filter({ hasText: 'box-native' }).waitFor();
    assert.equal(await page.getByRole('table', { name: 'Held back by the hub' }).count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
