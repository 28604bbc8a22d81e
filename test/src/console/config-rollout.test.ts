// A configuration rollout and a box's configuration in the console, in a real Chromium against a real hub
// (docs/console.md "Device" and "Rollouts", docs/rollouts.md "Configuration rollouts"), the boxes on the hub's
// broker with mqtt.js reporting what an agent reports: the device page says whether the box applied its
// configuration or refused it (the box's code, message and field), as `edgefleet devices show` does; a rollout's
// page offers Promote only when the hub takes it (the current wave baking, or passed under manual advance) and
// says what Abort does to a configuration (it writes the previous document back); it says when a wave being judged
// pauses (pausesAt) and, a manual rollout's wave passed, that it waits for Promote (decision 0114).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Route } from 'playwright-core';
import type { DeviceConfigView, DeviceInfo, ReportedConfig, Rollout } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { join } from 'node:path';
import { screenshotDir, signIn } from './helpers.js';
import { connectDevice, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const BOXES = ['box-a', 'box-b', 'box-c'];
const SHA = 'ab'.repeat(32);

describe('console: a configuration rollout and the boxes\' configuration', { timeout: 120_000 }, () => {
  let h: SmallHub;
  const clients: MqttClient[] = [];
  before(async () => { h = await startSmallHub('ef-console-config-', BOXES, { rollouts: { tickMs: 200, jitter: 0.1 } }); });
  after(async () => {
    for (const c of clients) await c.endAsync(true);
    await h?.stop();
  });

  const report = async (id: string, config?: ReportedConfig) => {
    await reportState(clients[BOXES.indexOf(id)]!, id, {}, config ? { config } : {});
    await waitFor(`${id}'s state stored`, async () => {
      const d = await h.api<DeviceInfo>('GET', `/devices/${id}`);
      return JSON.stringify(d.reported?.config) === JSON.stringify(config) ? true : undefined;
    }, { timeoutMs: 20_000 });
  };

  it('the device page says whether a box applied or refused its configuration', async () => {
    for (const id of BOXES) clients.push(await connectDevice(h, id));
    const at = new Date().toISOString();
    await report('box-a', { sha256: null, sources: [], status: 'failed', at, error: { sha256: SHA, code: 'CONFIG_INVALID', message: 'invalid config: api.grpc.maxCalls: 16 × 32 MiB', field: 'api.grpc.maxCalls' } });
    await report('box-b', { sha256: SHA, sources: [{ scope: 'fleet', version: 3 }, { scope: 'tag/site=north', version: 1 }], status: 'applied', at });
    await report('box-c');
    const page = await signIn(h.browser, h.http, h.token);
    const go = (hash: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, hash);
    await go('#/devices/box-a');
    await page.getByTestId('device-config').filter({ hasText: 'refused: CONFIG_INVALID: invalid config: api.grpc.maxCalls: 16 × 32 MiB (field api.grpc.maxCalls); runs no remote settings' }).waitFor();
    assert.equal(await page.getByTestId('device-config').getAttribute('class'), 'error');
    await go('#/devices/box-b');
    await page.getByTestId('device-config').filter({ hasText: 'applied: fleet v3, tag/site=north v1' }).waitFor();
    await go('#/devices/box-c');
    await page.getByTestId('device-config').filter({ hasText: 'not reported' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a rollout offers Promote only while its wave bakes (or passed), and Abort says it writes the previous configuration back', async () => {
    await h.api('PUT', '/config/fleet', { settings: { 'log.level': 'info' }, reason: 'a baseline the rollback returns to' });
    const r = await h.api<Rollout>('POST', '/rollouts/config', {
      scope: 'tag/site=north', settings: { 'log.level': 'debug' }, reason: 'console test', advance: 'manual',
      waves: [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 3600 }, { name: 'all', percent: 100, bakeSec: 0 }],
    });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    const actions = page.locator('[aria-label="Rollout actions"]');
    await actions.getByRole('button', { name: 'Pause' }).waitFor();
    await actions.getByRole('button', { name: 'Abort' }).click();
    await page.getByTestId('note-abort').filter({ hasText: 'abort writes v0 of tag/site=north back to every device told, as a rollback' }).waitFor();
    await page.getByRole('form', { name: 'Abort' }).getByRole('button', { name: 'Cancel' }).click();

    // The canary bakes: Promote skips the rest of the bake; then, the gates judging (pending: these boxes serve no
    // predictions), the hub refuses a promote (CONFLICT) and the page no longer offers it.
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${r.id}`)).waves[0]?.state, 'baking');
    await actions.getByRole('button', { name: 'Promote' }).click();
    await page.getByTestId('note-promote').filter({ hasText: 'skips the rest of wave canary\'s bake; its gates still judge it' }).waitFor();
    await page.getByRole('form', { name: 'Promote' }).getByLabel('Reason').fill('bake enough');
    await page.keyboard.press('Enter');
    await page.locator('[data-wave="canary"]').filter({ hasText: 'evaluating' }).waitFor();
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${r.id}`)).waves[0]?.state, 'evaluating');
    await waitFor('Promote gone', async () => ((await actions.getByRole('button', { name: 'Promote' }).count()) === 0 ? true : undefined), { timeoutMs: 10_000 });

    // Aborted (for a configuration, a rollback): the canary box is sent the previous document; once it reports
    // it applied, its row says so without a reload, though no rollout event follows its report.
    const canary = (await h.api<Rollout>('GET', `/rollouts/${r.id}?devices=10`)).devices?.find((d) => d.wave === 'canary')?.deviceId as string;
    await actions.getByRole('button', { name: 'Abort' }).click();
    await page.getByRole('form', { name: 'Abort' }).getByLabel('Reason').fill('console test');
    await page.keyboard.press('Enter');
    await page.getByTestId('rollout-reason').filter({ hasText: 'aborted: console test' }).waitFor();
    await page.locator(`[data-device="${canary}"]`).filter({ hasText: 'pending' }).waitFor();
    const sent = await h.api<DeviceConfigView>('GET', `/devices/${canary}/config`);
    assert.equal(sent.settings['log.level']?.value, 'info', 'the canary is sent the previous configuration');
    await report(canary, { sha256: sent.sha256, sources: sent.sources, status: 'applied', at: new Date().toISOString() });
    await page.locator(`[data-device="${canary}"]`).filter({ hasText: 'rolled_back' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an operator creates a configuration rollout from the form, its settings loaded from the scope and checked by the hub', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('5');
    await page.getByRole('link', { name: 'New configuration rollout' }).click();
    const form = page.getByRole('form', { name: 'New configuration rollout' });
    // The fleet's document (version 1, set above) fills the settings; a scope that is none is refused in the page.
    await page.getByTestId('config-doc').filter({ hasText: 'fleet is at version 1' }).waitFor();
    assert.equal(await form.getByLabel(/^Settings/).inputValue(), 'log.level=info');
    await form.getByLabel('Scope').fill('tag/site');
    await form.getByLabel('Reason').fill('more summaries');
    await form.getByRole('button', { name: 'Create configuration rollout' }).click();
    await form.locator('[data-field="scope"]').filter({ hasText: 'expected fleet, tag/KEY=VALUE or device/ID, got "tag/site"' }).waitFor();
    await form.getByLabel('Scope').fill('tag/site=north');
    await page.getByTestId('config-doc').filter({ hasText: 'tag/site=north is at version 2' }).waitFor();
    // A line that is not key=value is refused in the page; a value the agent's schema refuses, by the hub, under the settings.
    await form.getByLabel(/^Settings/).fill('summaries.windowSec 30');
    await form.getByRole('button', { name: 'Create configuration rollout' }).click();
    await form.locator('[data-field="settings"]').filter({ hasText: 'line 1 "summaries.windowSec 30": expected key=value' }).waitFor();
    await form.getByLabel(/^Settings/).fill('summaries.windowSec="soon"');
    await form.getByRole('button', { name: 'Create configuration rollout' }).click();
    await form.locator('[data-field="settings"]').filter({ hasText: /CONFIG_INVALID|summaries\.windowSec: / }).waitFor();
    await form.getByLabel(/^Settings/).fill('summaries.windowSec=30');
    await form.getByLabel('Wave 1 percent').fill('34');
    await form.getByLabel('Wave 1 bakeSec').fill('3600');
    await page.screenshot({ path: join(screenshotDir(), 'config-rollout-form.png'), fullPage: true });
    // Held at the hub, the create says it waits (its button disabled), then the rollout's page opens.
    const held: Route[] = [];
    const isCreate = (u: URL) => u.pathname.endsWith('/rollouts/config');
    await page.route(isCreate, (route) => { held.push(route); });
    await form.getByRole('button', { name: 'Create configuration rollout' }).click();
    await form.getByRole('status').filter({ hasText: /^Create configuration rollout: waiting for the hub…$/ }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Create configuration rollout' }).isDisabled(), true, 'not sent twice');
    await waitFor('the create held', async () => (held.length ? true : undefined));
    await Promise.all(held.map((x) => x.continue()));
    await page.unroute(isCreate);
    await page.getByTestId('rollout-detail').getByText('config tag/site=north v2 → v3').waitFor();
    const id = /#\/rollouts\/(ro-[0-9a-f]+)$/.exec(page.url())?.[1] as string;
    const r = await h.api<Rollout>('GET', `/rollouts/${id}`);
    assert.deepEqual({ scope: r.config?.scope, reason: r.reason, waves: r.waves.map((w) => [w.name, w.percent, w.bakeSec]) }, { scope: 'tag/site=north', reason: 'more summaries', waves: [['canary', 34, 3600], ['all', 100, 0]] });
    assert.equal((await h.api<{ settings: Record<string, unknown> }>('GET', '/config/tag/site%3Dnorth?version=3')).settings['summaries.windowSec'], 30);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a gate pending on the current wave is offered for acceptance: accepted with a reason, it reads "accepted by" the operator', async () => {
    const list = await h.api<{ rollouts: Rollout[] }>('GET', '/rollouts');
    for (const x of list.rollouts.filter((y) => y.state === 'running')) await h.api('POST', `/rollouts/${x.id}/abort`, { reason: 'make room' });
    const r = await h.api<Rollout>('POST', '/rollouts/config', {
      scope: 'tag/site=north', settings: { 'log.level': 'warn' }, reason: 'accept test', waves: [{ name: 'all', percent: 100, bakeSec: 0 }],
    });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    // The boxes report no configuration: config_applied waits, and only a blocking gate that waits is offered.
    const button = page.locator('[aria-label="Rollout actions"]').getByRole('button', { name: 'Accept config_applied' });
    await button.waitFor({ timeout: 20_000 });
    const shown = (await h.api<Rollout>('GET', `/rollouts/${r.id}`)).waves[0]?.gates ?? [];
    assert.deepEqual((await page.locator('[aria-label="Rollout actions"] button', { hasText: /^Accept / }).allTextContents()).sort(),
      shown.filter((g) => g.blocking && g.verdict !== 'pass').map((g) => `Accept ${g.name}`).sort());
    await button.click();
    await page.getByRole('form', { name: 'Accept config_applied' }).getByLabel('Reason').fill('boxes apply it on their next restart');
    await page.keyboard.press('Enter');
    await page.locator('[data-gate="config_applied"]').filter({ hasText: /accepted by \S+/ }).waitFor({ timeout: 10_000 });
    const after = (await h.api<Rollout>('GET', `/rollouts/${r.id}`)).waves[0]?.gates.find((g) => g.name === 'config_applied');
    assert.equal(after?.accepted?.reason, 'boxes apply it on their next restart');
    await page.screenshot({ path: join(screenshotDir(), 'rollout-gate-accepted.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a wave being judged says when it pauses; a manual rollout whose wave passed says it waits for Promote, as rollout show does', async () => {
    const list = await h.api<{ rollouts: Rollout[] }>('GET', '/rollouts');
    for (const x of list.rollouts.filter((y) => y.state === 'running' || y.state === 'paused')) await h.api('POST', `/rollouts/${x.id}/abort`, { reason: 'make room' });
    const r = await h.api<Rollout>('POST', '/rollouts/config', {
      scope: 'tag/site=north', settings: { 'log.level': 'error' }, reason: 'waits test', advance: 'manual', gates: { stuckSec: 3600 },
      waves: [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }],
    });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    // The boxes report no configuration: the canary's gates wait, and the page says when stuckSec pauses it (decision 0114).
    const bake = page.getByTestId('bake-canary');
    await bake.filter({ hasText: /pauses at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC if a gate is still pending \(gates\.stuckSec\)$/ }).waitFor({ timeout: 20_000 });
    const judged = await h.api<Rollout>('GET', `/rollouts/${r.id}`);
    const pausesAt = judged.waves[0]?.pausesAt ?? '';
    assert.ok(pausesAt, 'the hub reports pausesAt');
    await bake.filter({ hasText: `pauses at ${pausesAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')} if` }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('rollout-waiting').count(), 0, 'nothing waits for promote while the gates judge');
    assert.equal(await page.locator('[aria-label="Rollout actions"]').getByRole('button', { name: 'Promote' }).count(), 0);

    // Its waiting gates accepted, the canary passes: under manual advance it waits for Promote, which the page offers.
    const pending = judged.waves[0]?.gates.filter((g) => g.blocking && g.verdict !== 'pass').map((g) => g.name) ?? [];
    await h.api('POST', `/rollouts/${r.id}/promote`, { reason: 'boxes apply it later', acceptGates: pending });
    const waiting = page.getByTestId('rollout-waiting');
    await waiting.filter({ hasText: /^waiting for promote: wave canary passed \(advance manual\); Promote opens wave all 100%$/ }).waitFor({ timeout: 20_000 });
    assert.equal(await bake.textContent(), 'baked 0s', 'a passed wave has no pause time');
    await page.keyboard.press('5');
    await page.locator(`tr[data-rollout="${r.id}"]`).getByTestId('waiting-promote').waitFor();
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    await page.getByRole('button', { name: 'Promote' }).click();
    await page.getByTestId('note-promote').filter({ hasText: 'moves on from wave canary, which passed' }).waitFor();
    await page.getByRole('form', { name: 'Promote' }).getByLabel('Reason').fill('canary fine');
    await page.keyboard.press('Enter');
    await page.locator('[data-wave="all"]').filter({ hasText: /baking|evaluating|passed/ }).waitFor({ timeout: 10_000 });
    await waiting.waitFor({ state: 'detached' });
    assert.equal((await h.api<Rollout>('GET', `/rollouts/${r.id}`)).currentWave, 1);
    await page.screenshot({ path: join(screenshotDir(), 'rollout-waits.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
