// The New rollout form and a rollout's page when things go wrong, in a real Chromium against a real hub
// (docs/console.md, Rollouts): what cannot be sent as typed is refused on its field with what was
// expected, and the typed text stays; target tags are split as a device's (spaces or commas); the hub's
// record-key error says what a tag key may hold; each error is shown once; a create whose answer was lost,
// sent again, links the rollout it made. On a rollout's page a refetch
// that fails keeps the rollout shown, marked, with Retry; an older answer arriving after a newer one does
// not bring back the old state; an action the hub refuses shows its code and keeps the reason. With no
// version to roll out the form says so and how to get one. Which backends load each version (the hub's
// real onnxruntime-node and onnxruntime-web check at push) in the models view, and a rollout over a box
// reporting the wasm backend of a version wasm cannot load refused with BACKEND_UNSUPPORTED naming the box, and
// every device such a refusal lists, under their count, in a list that scrolls (and how many more it did not list).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, buildStrictShapeModel, bundleFromOnnx } from '@edgefleet/examples';
import type { DeviceInfo, ModelVersionInfo, Rollout } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn, type ConsolePage } from './helpers.js';
import { connectDevice, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const MODEL = 'audio-energy';

describe('console: the rollout form and page when input or the hub is wrong', { timeout: 120_000 }, () => {
  let h: SmallHub;
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-roform-bundles-'));
  before(async () => {
    h = await startSmallHub('ef-console-roform-', ['dev-a', 'dev-b', 'dev-c']);
    for (const version of ['1.0.0', '2.0.0']) {
      const b = await buildMultiBundle({ dir: join(dir, version), keys: h.keys, version });
      await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
    }
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'north', ring: 'a' }, reason: 'console test: a ring' });
  });
  after(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const hash = (page: ConsolePage, to: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, to);

  it('refuses what it cannot send on its field, keeps what was typed, splits tags on spaces, shows each error once', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await hash(page, '#/rollouts/new');
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.getByLabel('Version').selectOption('2.0.0');
    await form.getByLabel('Target').selectOption('tags');
    await form.getByLabel('Tags').fill('site north');
    await form.getByLabel('Wave 1 percent').fill('abc');
    await form.getByLabel('minPredictions').fill('lots');
    let previews = 0;
    page.on('request', (r) => { if (r.url().endsWith('/rollouts/preview')) previews++; });
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await form.locator('[data-field="target.tags"]').filter({ hasText: 'tag "site": expected key=value, separated by spaces or commas' }).waitFor();
    assert.equal(await form.locator('[data-field="waves[0].percent"]').textContent(), 'waves[0].percent: expected a number, got "abc"');
    assert.equal(await form.locator('[data-field="gates.minPredictions"]').textContent(), 'gates.minPredictions: expected a number, got "lots"');
    assert.equal(previews, 0, 'nothing is sent');
    assert.equal(await form.getByLabel('Wave 1 percent').inputValue(), 'abc', 'what was typed stays');
    // Removing a wave moves the ones after it up: errors named by wave index are not left on another wave.
    await form.getByRole('button', { name: 'Add wave' }).click();
    await form.getByLabel('Wave 3 percent').fill('x');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await form.locator('[data-field="waves[2].percent"]').waitFor();
    await form.getByRole('button', { name: 'Remove wave 1' }).click();
    assert.equal(await form.getByRole('alert').filter({ hasText: 'waves[' }).count(), 0, 'no wave error left on a wave it does not name');
    assert.equal(await form.locator('[data-field="target.tags"]').count(), 1, 'the other errors stay');
    await form.getByRole('button', { name: 'Remove wave 2' }).click();
    await form.getByRole('button', { name: 'Add wave' }).click();
    await form.getByLabel('Wave 2 name').fill('all');
    await form.getByLabel('Wave 1 name').fill('canary');

    // The hub's refusal of a tag key says what a key may hold, once (not under the Target field too).
    await form.getByLabel('Tags').fill('Site=north');
    await form.getByLabel('Wave 1 percent').fill('34');
    await form.getByLabel('Wave 1 minDevices').fill('1');
    await form.getByLabel('Wave 2 percent').fill('100');
    await form.getByLabel('minPredictions').fill('');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    const tagErr = form.getByRole('alert').filter({ hasText: 'target.tags.Site' });
    await tagErr.first().waitFor();
    assert.equal(await tagErr.count(), 1, 'shown once');
    assert.match(await tagErr.textContent() ?? '', /expected a tag key of lowercase letters/);
    await form.getByLabel('Window cron').fill('0 2 * * *');
    await form.getByLabel('Window duration').fill('2 hours');
    await form.getByLabel('Tags').fill('site=north');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    const durErr = form.getByRole('alert').filter({ hasText: 'window.durationSec' });
    await durErr.first().waitFor();
    assert.equal(await durErr.count(), 1, 'the window error is shown once, on its field');

    // Two tags separated by a space are two tags: the target is the one device holding both.
    await form.getByLabel('Window cron').fill('');
    await form.getByLabel('Tags').fill('site=north ring=a');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await page.locator('[data-testid="rollout-preview"]:not(.stale)').getByText('over 1 device ').waitFor();

    // An unknown device in a listed target: the hub's refusal is shown under the Devices field.
    await form.getByLabel('Target').selectOption('devices');
    await form.getByLabel('Devices', { exact: true }).fill('dev-a, dev-99');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await form.locator('[data-field="target.devices"]').filter({ hasText: 'unknown or revoked devices in target: dev-99' }).waitFor();
    await form.getByLabel('Target').selectOption('tags');
    await form.getByLabel('Tags').fill('site=north ring=a');
    await form.getByRole('button', { name: 'Preview waves' }).click();
    await page.locator('[data-testid="rollout-preview"]:not(.stale)').getByText('over 1 device ').waitFor();

    // A create that reached the hub but whose answer was lost: created again, the page links the rollout
    // this preview made instead of only saying "exists already".
    await form.getByLabel('Reason').fill('console test: a lost answer');
    let created = '';
    await page.route('**/api/v1/rollouts', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      created = ((await (await route.fetch()).json()) as Rollout).id;
      await route.abort('connectionreset');
    });
    await form.getByRole('button', { name: 'Create rollout' }).click();
    await form.getByRole('alert').first().waitFor();
    assert.match(created, /^ro-/);
    await page.unroute('**/api/v1/rollouts');
    await form.getByRole('button', { name: 'Create rollout' }).click();
    const again = form.getByTestId('created-already');
    await again.getByRole('link', { name: `open rollout ${created}` }).click();
    await page.getByTestId('rollout-detail').getByText(created).first().waitFor();
    await h.api('POST', `/rollouts/${created}/abort`, { reason: 'console test: done with it' });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a failed refetch keeps the rollout shown with Retry; a late older answer does not bring its state back; a refused action shows the code', async () => {
    const r = await h.api<Rollout>('POST', '/rollouts', { model: MODEL, version: '1.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 3600 }], reason: 'console test' });
    const page = await signIn(h.browser, h.http, h.token);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    await hash(page, `#/rollouts/${r.id}`);
    const detail = page.getByTestId('rollout-detail');
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();

    // The page asks for its first 500 devices only; a rollout of more says how many it has.
    const path = new RegExp(`/api/v1/rollouts/${r.id}\\?devices=500$`);
    await page.route(path, async (route) => {
      const json = await (await route.fetch()).json() as Rollout;
      // And a predictions gate judged on a big wave: its value and threshold are counts, with separators as its samples.
      const gate = { name: 'predictions', value: 12_345, threshold: 1_000, verdict: 'pass', blocking: true, samples: { wave: 12_345, control: 23_456 }, against: 'absolute' };
      const waves = json.waves.map((w, i) => (i === 0 ? { ...w, gates: [gate] } : w));
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...json, waves, devicesTotal: 12_000 }) });
    });
    await h.api('POST', `/rollouts/${r.id}/pause`, { reason: 'a refetch' });
    await detail.getByLabel('Rollout devices').getByText('first 500 of 12,000 by place').waitFor();
    const cells = await detail.locator('table[aria-label="Gates of wave all"] tr[data-gate="predictions"] td').allTextContents();
    assert.deepEqual(cells.slice(1, 4), ['12,345', '≥ 1,000', '12,345 / 23,456'], 'counts in a gate row have thousands separators');
    await page.unroute(path);
    await h.api('POST', `/rollouts/${r.id}/resume`, { reason: 'go on' });
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();

    await page.route(path, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'NOT_READY', message: 'the hub is busy' } }) }));
    await h.api('POST', `/rollouts/${r.id}/pause`, { reason: 'look first' });
    await detail.getByRole('alert').filter({ hasText: /could not refresh the rollout \(shown as of .*\): NOT_READY: the hub is busy/ }).waitFor();
    assert.equal(await detail.getByTestId('rollout-state').textContent(), 'running', 'what was shown stays, marked');
    await page.unroute(path);
    await detail.getByRole('button', { name: 'Retry' }).click();
    await detail.getByTestId('rollout-state').filter({ hasText: 'paused' }).waitFor();
    assert.equal(await detail.getByRole('alert').filter({ hasText: 'could not refresh' }).count(), 0);

    // The answer to the refetch of the pause arrives after the one of the resume: the page stays running.
    let release = () => {};
    const released = new Promise<void>((res) => { release = res; });
    let heldNow = () => {};
    const held = new Promise<void>((res) => { heldNow = res; });
    let lateDone = () => {};
    const late = new Promise<void>((res) => { lateDone = res; });
    let holding = false;
    await page.route(path, async (route) => {
      const res = await route.fetch();
      const json = await res.json() as Rollout;
      if (json.state === 'paused' && !holding) {
        holding = true;
        heldNow();
        await released;
        await route.fulfill({ response: res, json });
        lateDone();
        return;
      }
      await route.fulfill({ response: res, json });
      if (json.state === 'running' && holding) release();
    });
    const within = <T>(p: Promise<T>, what: string) => Promise.race([p, new Promise<never>((_, no) => setTimeout(() => no(new Error(`timed out: ${what}`)), 20_000))]);
    await h.api('POST', `/rollouts/${r.id}/resume`, { reason: 'go on' });
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();
    await h.api('POST', `/rollouts/${r.id}/pause`, { reason: 'again' });
    await within(held, 'the refetch after the pause');
    await h.api('POST', `/rollouts/${r.id}/resume`, { reason: 'go on again' });
    await within(late, 'the held answer delivered');
    await detail.getByTestId('rollout-state').filter({ hasText: 'running' }).waitFor();
    await page.waitForTimeout(300);
    assert.equal(await detail.getByTestId('rollout-state').textContent(), 'running', 'the older answer was not shown over the newer');
    await page.unroute(path);

    // An action the hub refuses: its code and message, and the reason stays for another try.
    await page.route(`**/api/v1/rollouts/${r.id}/pause`, (route) => route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'CONFLICT', message: 'changed meanwhile: try again' } }) }));
    await detail.getByRole('button', { name: 'Pause' }).click();
    const pause = detail.getByRole('form', { name: 'Pause' });
    await pause.getByLabel('Reason').fill('hold on');
    await pause.getByRole('button', { name: 'Pause' }).click();
    await pause.getByRole('status').filter({ hasText: 'CONFLICT: changed meanwhile: try again' }).waitFor();
    assert.equal(await pause.getByLabel('Reason').inputValue(), 'hold on');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('with no version to roll out the form says so and what to do, instead of empty selects', async () => {
    for (const v of ['1.0.0', '2.0.0']) await h.api('POST', `/models/${MODEL}/versions/${v}/deprecate`, { reason: 'console test: nothing to roll out' });
    const page = await signIn(h.browser, h.http, h.token);
    await hash(page, '#/rollouts/new');
    await page.getByText("No version to roll out: each of the hub's 2 version(s) is deprecated. Push one (edgefleet model push BUNDLE), then start the rollout here.").waitFor();
    assert.equal(await page.getByRole('form', { name: 'New rollout' }).count(), 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the models view says which backends load each version; a rollout over a wasm box of a version wasm refuses shows BACKEND_UNSUPPORTED naming it', async () => {
    const strict = buildStrictShapeModel();
    const b = await bundleFromOnnx({ dir: join(dir, 'strict'), onnx: strict.onnx, name: 'strict', version: '1.0.0', io: strict.io, keys: h.keys });
    await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
    const c = await connectDevice(h, 'dev-c');
    try {
      await reportState(c, 'dev-c', {}, { capabilities: ['backend-wasm'] });
      await waitFor('dev-c\'s backend stored', async () => ((await h.api<DeviceInfo>('GET', '/devices/dev-c')).reported?.backend === 'wasm' ? true : undefined), { timeoutMs: 20_000 });
      // A version pushed before the hub checked backends (or encrypted) has backends: null. Routed before the
      // sign-in, which reads the models: routed after it, the page could hold the hub's answer already.
      const page = await signIn(h.browser, h.http, h.token, {
        prepare: (p) => p.route('**/api/v1/models', async (route) => {
          const res = await route.fetch();
          const json = await res.json() as { versions: ModelVersionInfo[] };
          await route.fulfill({ response: res, json: { versions: json.versions.map((v) => (v.name === MODEL && v.version === '1.0.0' ? { ...v, backends: null } : v)) } });
        }),
      });
      await hash(page, '#/models');
      const table = page.getByRole('table', { name: 'Model versions' });
      const cell = (model: string, version: string) => table.locator('tbody tr').filter({ has: page.getByRole('link', { name: model, exact: true }) })
        .filter({ has: page.getByRole('link', { name: version, exact: true }) }).getByTestId('version-backends');
      await cell('strict', '1.0.0').waitFor();
      assert.equal(await cell(MODEL, '2.0.0').textContent(), 'native, wasm');
      assert.equal(await cell(MODEL, '1.0.0').textContent(), 'not checked');
      assert.match(await cell(MODEL, '1.0.0').getAttribute('title') ?? '', /^not checked: pushed before the hub checked/);
      assert.equal(await cell('strict', '1.0.0').textContent(), 'native only');
      assert.match(await cell('strict', '1.0.0').getAttribute('title') ?? '', /^does not load on wasm: .*ShapeInferenceError.*; a deploy or rollout to devices on wasm is refused \(BACKEND_UNSUPPORTED\)$/s);
      await hash(page, '#/models/strict/1.0.0');
      const detail = page.getByTestId('version-backends-detail');
      await detail.getByText('Loads on: native only').waitFor();
      assert.match(await detail.locator('details[open] pre').textContent() ?? '', /does not load on wasm: .*ShapeInferenceError/s);

      // The rollout form: the hub's refusal with its code, the box it names and why.
      await hash(page, '#/rollouts/new');
      const form = page.getByRole('form', { name: 'New rollout' });
      await form.getByLabel('Model').selectOption('strict');
      await form.getByLabel('Reason').fill('console test: a wasm box');
      await form.getByRole('button', { name: 'Preview waves' }).click();
      const refusal = form.getByRole('alert').filter({ hasText: 'BACKEND_UNSUPPORTED' });
      await refusal.first().waitFor();
      assert.equal(await refusal.count(), 1, 'shown once');
      assert.match(await refusal.textContent() ?? '', /^BACKEND_UNSUPPORTED: 1 device\(s\) of the target run a backend that cannot load it: dev-c \(wasm\); strict 1\.0\.0 does not load on the wasm backend: .*Leave those devices out of the target/s);
      const listed = form.getByTestId('backend-devices');
      assert.equal(await listed.locator('p').first().textContent(), '1 device of the target run a backend that cannot load this version:');
      assert.deepEqual(await listed.getByRole('list', { name: 'Devices whose backend cannot load it' }).getByRole('listitem').allTextContents(), ['dev-c (wasm)']);

      // A target of 250 such boxes (the hub's refusal lists the first 100 in details): all 100 in a list that scrolls, the count, and how many more.
      const many = Array.from({ length: 100 }, (_, i) => ({ device: `box-${String(i).padStart(3, '0')}`, backend: 'wasm' }));
      await page.route('**/api/v1/rollouts/preview', (route) => route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ error: {
        code: 'BACKEND_UNSUPPORTED', message: '250 device(s) of the target run a backend that cannot load it: box-000 (wasm), box-001 (wasm), box-002 (wasm), … (250 in all); …',
        details: { model: 'strict', version: '1.0.0', devices: many, total: 250 },
      } }) }));
      await form.getByRole('button', { name: 'Preview waves' }).click();
      await listed.getByText('250 devices of the target run a backend that cannot load this version (the hub lists the first 100):').waitFor();
      const items = listed.getByRole('list', { name: 'Devices whose backend cannot load it' });
      assert.equal(await items.getByRole('listitem').count(), 100);
      assert.equal(await items.getByRole('listitem').last().textContent(), 'box-099 (wasm)');
      assert.equal(await items.getByRole('link', { name: 'box-042' }).getAttribute('href'), '#/devices/box-042');
      assert.ok(await items.evaluate((el) => el.scrollHeight > el.clientHeight), 'the list scrolls, not the page');
      assert.match(await listed.textContent() ?? '', /and 150 more, not listed/);

      // The override (decision 0129): offered under the refusal for the request it refused, gone when the request changes;
      // checked, preview and create send allowBackendMismatch and the rollout's page says it was created so.
      await page.unroute('**/api/v1/rollouts/preview');
      await form.getByRole('button', { name: 'Preview waves' }).click();
      const box = form.getByRole('checkbox', { name: /^Send it also to the box whose backend cannot load it/ });
      await box.check();
      await form.getByLabel('Target').selectOption('tags');
      assert.equal(await listed.count(), 0, 'the override is the refused request\'s: gone when the request changes');
      await form.getByLabel('Target').selectOption('all');
      assert.equal(await box.isChecked(), true);
      const sent: unknown[] = [];
      page.on('request', (r) => { if (/\/rollouts(\/preview)?$/.test(r.url()) && r.method() === 'POST') sent.push(r.postDataJSON()); });
      await form.getByRole('button', { name: 'Preview waves' }).click();
      await page.getByTestId('rollout-preview').filter({ hasText: 'strict (none) → 1.0.0 over 3 devices' }).waitFor();
      assert.deepEqual(await listed.getByRole('listitem').allTextContents(), ['dev-c (wasm)'], 'the boxes it sends to stay named');
      await form.getByRole('button', { name: 'Create rollout' }).click();
      await page.getByTestId('rollout-backend-mismatch').waitFor();
      const id = decodeURIComponent((await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).replace('#/rollouts/', ''));
      assert.deepEqual(sent.map((b) => (b as { allowBackendMismatch?: boolean }).allowBackendMismatch), [true, true]);
      assert.equal((await h.api<Rollout>('GET', `/rollouts/${id}`)).allowBackendMismatch, true);
      assert.equal(await page.getByTestId('rollout-backend-mismatch').textContent(), 'sent also to boxes whose backend cannot load it (allowBackendMismatch)');
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      await c.endAsync(true);
    }
  });
});
