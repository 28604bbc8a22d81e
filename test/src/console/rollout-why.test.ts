// Why each device of a rollout reads as it does (docs/console.md "Rollouts"; GET /rollouts/{id} devices' `reason`), in a
// real Chromium against a real hub, the box on the hub's broker with mqtt.js: a version onnxruntime-web refuses (examples
// buildStrictShapeModel) rolled out to every device reads `pending` on the rollout's page with the hub's reason, waiting
// for the box's first state report; the box reports the wasm backend and its row turns `refused` with the hub's
// BACKEND_UNSUPPORTED reason, live, as its device page's "Held back by the hub" says. A device with no reason shows none.
// A `replaced` status pill has the muted colour of `pending`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples/fleet';
import type { Rollout } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { connectDevice, pushStrictBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

describe('console: why a rollout\'s device reads refused or pending', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let c: MqttClient | undefined;
  before(async () => {
    h = await startSmallHub('ef-console-why-', ['box-wasm', 'box-native']);
    await pushStrictBundle(h);
  });
  after(async () => {
    await c?.endAsync(true);
    await h?.stop();
  });

  it('shows the hub\'s reason beside each status, and follows it live', async () => {
    const r = await h.api<Rollout>('POST', '/rollouts', {
      model: 'strict', version: '1.0.0', target: { all: true }, reason: 'console test: why', advance: 'manual',
      waves: [{ name: 'all', percent: 100, bakeSec: 600 }],
    });
    const device = async (id: string) => (await h.api<Rollout>('GET', `/rollouts/${r.id}`)).devices?.find((d) => d.deviceId === id);
    const waiting = await waitFor('box-wasm told and held', async () => { const x = await device('box-wasm'); return x?.reason ? x : undefined; });
    assert.equal(waiting.status, 'pending');
    assert.match(waiting.reason ?? '', /^waiting for the box's first state report/);

    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    const table = page.getByRole('table', { name: 'Rollout devices' });
    const row = (id: string) => table.locator(`tr[data-device="${id}"] td`);
    await row('box-wasm').first().waitFor();
    assert.deepEqual((await table.locator('thead th').allTextContents()).slice(-2), ['Status', 'Why']);
    assert.deepEqual((await row('box-wasm').allTextContents()).slice(-2), ['pending', waiting.reason]);
    // Each row's status pill is `pill st-STATUS`: a `replaced` one (an old id of a box enrolled again, docs/rollouts.md
    // "Cohorts") takes the muted colour of the other left-out statuses, not the default one.
    const colours = await page.evaluate((classes) => classes.map((x) => {
      const g = globalThis as unknown as { document: { createElement(t: string): { className: string; remove(): void }; body: { append(e: unknown): void } }; getComputedStyle(e: unknown): { color: string } };
      const e = g.document.createElement('span');
      e.className = `pill ${x}`;
      g.document.body.append(e);
      const colour = g.getComputedStyle(e).color;
      e.remove();
      return colour;
    }), ['st-replaced', 'st-pending', '']);
    assert.equal(colours[0], colours[1], 'replaced reads as pending does');
    assert.notEqual(colours[0], colours[2], 'not the default colour');

    // The box says it runs the wasm backend: the hub refuses the version for it, and the open page follows.
    c = await connectDevice(h, 'box-wasm');
    await reportState(c, 'box-wasm', {}, { capabilities: ['backend-wasm'] });
    const refused = await waitFor('the hold for the backend', async () => {
      const x = await device('box-wasm');
      return x?.reason?.startsWith('BACKEND_UNSUPPORTED') ? x : undefined;
    }, { timeoutMs: 20_000 });
    assert.equal(refused.status, 'refused');
    assert.ok(refused.reason && refused.reason.length <= 160, 'cut at 160 characters');
    const why = row('box-wasm').last();
    await table.locator('tr[data-device="box-wasm"] td.error').filter({ hasText: /^BACKEND_UNSUPPORTED: the box runs the wasm backend, which cannot load strict 1\.0\.0/ }).waitFor();
    assert.equal(await why.textContent(), refused.reason);
    assert.equal(await row('box-wasm').nth(5).textContent(), 'refused');

    // A box that reports a backend loading it is sent the version: its row says no reason.
    const n = await connectDevice(h, 'box-native');
    try {
      await reportState(n, 'box-native', {}, { capabilities: ['backend-native'] });
      await waitFor('box-native sent 1.0.0', async () => {
        const x = await device('box-native');
        return x && x.reason === undefined ? x : undefined;
      }, { timeoutMs: 20_000 });
    } finally {
      await n.endAsync(true);
    }
    await page.reload();
    await row('box-native').first().waitFor();
    assert.equal(await row('box-native').last().textContent(), '');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
