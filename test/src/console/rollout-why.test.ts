// Why each device of a rollout reads as it does (docs/console.md "Rollouts"; GET /rollouts/{id} devices' `reason`), in a
// real Chromium against a real hub, the box on the hub's broker with mqtt.js: a version onnxruntime-web refuses (examples
// buildStrictShapeModel) rolled out to every device reads `pending` on the rollout's page with the hub's reason, waiting
// for the box's first state report; the box reports the wasm backend and its row turns `refused` with the hub's
// BACKEND_UNSUPPORTED reason, live, as its device page's "Held back by the hub" says. A device with no reason shows none.
// A `replaced` row (an old id of a box enrolled again with its device key, as `edgefleet-agent enroll --force` does) is
// drawn in the muted colour of a `pending` one, as Chromium computes it, and not in a `failed` one's (the box's own
// install_failed event).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@edgefleet/examples/fleet';
import { EVENTS_SCHEMA, deviceTopic, generateBoxKeyPair, type DeviceCredentials, type EnrollmentTokenCreated, type Rollout } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { connectDevice, pushStrictBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

describe('console: why a rollout\'s device reads refused or pending', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let c: MqttClient | undefined;
  before(async () => {
    h = await startSmallHub('ef-console-why-', ['box-wasm', 'box-native', 'box-fail']);
    await pushStrictBundle(h);
  });
  /** POST /enroll with a fresh enrollment token and `key` as the box's device key: the new device's id. */
  const enroll = async (key: ReturnType<typeof generateBoxKeyPair>): Promise<string> => {
    const { token } = await h.api<EnrollmentTokenCreated>('POST', '/enrollment-tokens', {});
    const facts = { os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 2048, agentVersion: '0.1.0' };
    const deviceKey = { keyId: key.keyId, public: Buffer.from(key.publicKey).toString('base64') };
    return (await h.api<DeviceCredentials>('POST', '/enroll', { token, facts, deviceKey })).deviceId;
  };
  after(async () => {
    await c?.endAsync(true);
    await h?.stop();
  });

  it('shows the hub\'s reason beside each status, and follows it live', async () => {
    const key = generateBoxKeyPair();
    const old = await enroll(key);
    const r = await h.api<Rollout>('POST', '/rollouts', {
      model: 'strict', version: '1.0.0', target: { all: true }, reason: 'console test: why', advance: 'manual',
      waves: [{ name: 'all', percent: 100, bakeSec: 600 }],
    });
    const device = async (id: string) => (await h.api<Rollout>('GET', `/rollouts/${r.id}`)).devices?.find((d) => d.deviceId === id);
    const waiting = await waitFor('box-wasm told and held', async () => { const x = await device('box-wasm'); return x?.reason ? x : undefined; });
    assert.equal(waiting.status, 'pending');
    assert.match(waiting.reason ?? '', /^waiting for the box's first state report/);

    // The box enrolled as `old` enrolls again with the same key (it never connected: offline), so `old` is replaced.
    const fresh = await enroll(key);
    await waitFor(`${old} replaced`, async () => (await device(old))?.status === 'replaced' || undefined);
    // box-fail is sent the version and says its install failed.
    const f = await connectDevice(h, 'box-fail');
    try {
      await reportState(f, 'box-fail', {}, { capabilities: ['backend-native'] });
      await waitFor('box-fail sent 1.0.0', async () => { const x = await device('box-fail'); return x && x.reason === undefined ? x : undefined; }, { timeoutMs: 20_000 });
      const event = { seq: 1, at: new Date().toISOString(), kind: 'install_failed', model: 'strict', version: '1.0.0', code: 'MODEL_PREFLIGHT_FAILED', message: 'console test' };
      await f.publishAsync(deviceTopic('box-fail', 'events'), JSON.stringify({ schema: EVENTS_SCHEMA, deviceId: 'box-fail', events: [event] }), { qos: 1 });
      await waitFor('box-fail failed', async () => (await device('box-fail'))?.status === 'failed' || undefined, { timeoutMs: 20_000 });
    } finally {
      await f.endAsync(true);
    }

    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    const table = page.getByRole('table', { name: 'Rollout devices' });
    const row = (id: string) => table.locator(`tr[data-device="${id}"] td`);
    await row('box-wasm').first().waitFor();
    assert.deepEqual((await table.locator('thead th').allTextContents()).slice(-2), ['Status', 'Why']);
    assert.deepEqual((await row('box-wasm').allTextContents()).slice(-2), ['pending', waiting.reason]);
    // What the operator sees: each row's status as Chromium draws it. `replaced` (listed last, its reason naming the new
    // id) reads in the muted colour `pending` does, and not in the colour of `failed`.
    await table.locator(`tr[data-device="${old}"] td`).filter({ hasText: `(now ${fresh})` }).waitFor();
    await table.locator('tr[data-device="box-fail"] td').filter({ hasText: /^failed$/ }).waitFor();
    const colour = (id: string) => table.locator(`tr[data-device="${id}"] .pill`).evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { color: string } }).getComputedStyle(e).color);
    const [replaced, pending, failed] = [await colour(old), await colour('box-wasm'), await colour('box-fail')];
    assert.deepEqual((await table.locator(`tr[data-device="${old}"] .pill`).textContent()), 'replaced');
    assert.equal((await table.locator('tbody tr').last().getAttribute('data-device')), old, 'listed last');
    assert.equal(replaced, pending, 'replaced reads as pending does');
    assert.notEqual(replaced, failed, 'not as failed does');

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
