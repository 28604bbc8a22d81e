// The operations the CLI gained, in the console (docs/console.md "Rollouts" and "Drift and alerts"), in a real
// Chromium against a real hub whose boxes are on its broker with mqtt.js: an acceptance taken back on the rollout
// page (POST /rollouts/{id}/unaccept), promote to the full fleet confirmed before it is sent (POST /rollouts/{id}/promote
// with full), an acknowledgement taken back on the alert's row (POST /alerts/{id}/unack), each with a reason, and the
// hub's refusal shown with its code (NOTHING_TO_UNDO, CONFLICT): the other operator's change is made while the page's
// refetch is held, as a page not yet told would send it; told, the open form stays, unsendable, saying why (decision
// 0147), as does an Accept form when another operator accepts its gate. And device-reported strings with bidi controls drawn inert.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Page, Route } from 'playwright-core';
import type { Alert, DeviceInfo, Rollout } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { signIn } from './helpers.js';
import { connectDevice, pushExampleBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const BOXES = ['box-a', 'box-b', 'box-c'];

/** Holds the page's requests to `match` (reads: the writes go to other paths) until the returned function lets them through. */
async function holdReads(page: Page, match: (url: URL) => boolean): Promise<() => Promise<void>> {
  const held: Route[] = [];
  const pred = (url: URL) => match(url);
  await page.route(pred, (route) => { held.push(route); });
  return async () => {
    await Promise.all(held.splice(0).map((r) => r.continue()));
    await page.unroute(pred);
  };
}

describe('console: un-accept, promote to the full fleet, un-acknowledge', { timeout: 180_000 }, () => {
  let h: SmallHub;
  const clients: MqttClient[] = [];
  before(async () => {
    h = await startSmallHub('ef-console-ops-', BOXES, { rollouts: { tickMs: 200, jitter: 0.1 } });
    await pushExampleBundle(h, '1.0.0');
    for (const id of BOXES) clients.push(await connectDevice(h, id));
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true);
    await h?.stop();
  });

  it('an acceptance taken back on the rollout page; promote to the full fleet asks for a confirmation; refusals carry their code', async () => {
    // Three waves; the boxes never report the version, so the canary's gates wait (judged, gates.stuckSec far off).
    // Each device's place is drawn from the rollout's random id (decision 0105): small percents with minimums make
    // the canary one box and mid a second whatever the draw (at 34 % / 67 % the canary took two now and then, mid none).
    const r = await h.api<Rollout>('POST', '/rollouts', {
      model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'console ops test', advance: 'manual', gates: { stuckSec: 3600 },
      waves: [{ name: 'canary', percent: 1, minDevices: 1, bakeSec: 0 }, { name: 'mid', percent: 2, minDevices: 2, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }],
    });
    const view = () => h.api<Rollout>('GET', `/rollouts/${r.id}`);
    const judged = await waitFor('the canary judged', async () => { const x = await view(); return x.waves[0]?.state === 'evaluating' ? x : undefined; }, { timeoutMs: 30_000 });
    const pending = judged.waves[0]!.gates.filter((g) => g.blocking && g.verdict === 'pending').map((g) => g.name);
    assert.ok(pending.length >= 2, `two gates wait, so one accepted keeps the wave judged: ${pending.join(', ')}`);
    const gate = pending.find((g) => g !== 'install_success') as string;
    await h.api('POST', `/rollouts/${r.id}/promote`, { reason: 'by mistake', acceptGates: [gate] });

    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, `#/rollouts/${r.id}`);
    const actions = page.locator('[aria-label="Rollout actions"]');
    const unaccept = actions.getByRole('button', { name: `Un-accept ${gate}`, exact: true });
    await unaccept.click();
    const form = page.getByRole('form', { name: `Un-accept ${gate}` });
    await form.getByText('accepted by admin: by mistake').waitFor();
    await form.getByRole('button', { name: `Un-accept ${gate}` }).click();
    await form.getByText('a reason is required').waitFor();
    await form.getByLabel('Reason').fill('accepted the wrong gate');
    await page.keyboard.press('Enter');
    await page.locator(`[data-gate="${gate}"]`).filter({ hasText: 'pending' }).waitFor();
    assert.equal((await view()).waves[0]?.gates.find((g) => g.name === gate)?.accepted, undefined, 'the acceptance is taken back');
    await unaccept.waitFor({ state: 'detached' });

    // Accepted again, then taken back by another operator while this page's refetch is held: NOTHING_TO_UNDO, shown with its code.
    await h.api('POST', `/rollouts/${r.id}/promote`, { reason: 'again', acceptGates: [gate] });
    await unaccept.click();
    let release = await holdReads(page, (u) => u.pathname === `/api/v1/rollouts/${r.id}`);
    await h.api('POST', `/rollouts/${r.id}/unaccept`, { reason: 'the other operator', gates: [gate] });
    await form.getByLabel('Reason').fill('take it back');
    await page.keyboard.press('Enter');
    await form.getByRole('status').filter({ hasText: new RegExp(`^NOTHING_TO_UNDO: rollout ${r.id}: gate ${gate} is not accepted on wave canary`) }).waitFor();
    assert.equal(await form.getByLabel('Reason').inputValue(), 'take it back', 'the reason is kept to send again');
    await release();
    // The page then learns the acceptance is gone: the open form stays, what was typed kept, saying why (decision 0147).
    await form.getByTestId('action-gone').filter({ hasText: new RegExp(`^Un-accept ${gate}: not sent: it no longer applies: gate ${gate} is no longer accepted \\(pending\\)$`) }).waitFor();
    assert.equal(await form.getByLabel('Reason').inputValue(), 'take it back');
    assert.equal(await form.getByRole('button', { name: `Un-accept ${gate}`, exact: true }).isDisabled(), true, 'it cannot be sent');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await unaccept.waitFor({ state: 'detached' });

    // An Accept form open when another operator accepts the gate, told live: it stays, sends nothing, says by whom and when.
    await actions.getByRole('button', { name: `Accept ${gate}`, exact: true }).click();
    const aform = page.getByRole('form', { name: `Accept ${gate}` });
    await aform.getByLabel('Reason').fill('the canary box is fine');
    const other = await h.api<Rollout>('POST', `/rollouts/${r.id}/promote`, { reason: 'the other operator', acceptGates: [gate] });
    const at = (other.waves[0]?.gates.find((g) => g.name === gate)?.accepted?.at ?? '').replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
    await unaccept.waitFor();
    assert.equal(await aform.getByTestId('action-gone').textContent(), `Accept ${gate}: not sent: it no longer applies: gate ${gate} was accepted by admin at ${at}: the other operator`);
    assert.equal(await aform.getByLabel('Reason').inputValue(), 'the canary box is fine', 'what was typed stays');
    assert.equal(await aform.getByRole('button', { name: `Accept ${gate}`, exact: true }).isDisabled(), true);
    await aform.getByLabel('Reason').press('Enter');
    assert.equal((await view()).waves[0]?.gates.find((g) => g.name === gate)?.accepted?.reason, 'the other operator', 'Enter sent nothing');
    await aform.getByRole('button', { name: 'Cancel' }).click();
    await aform.waitFor({ state: 'detached' });
    assert.equal(await actions.getByRole('button', { name: `Accept ${gate}`, exact: true }).count(), 0, 'no Accept of an accepted gate');
    await h.api('POST', `/rollouts/${r.id}/unaccept`, { reason: 'as it was', gates: [gate] });
    await unaccept.waitFor({ state: 'detached' });

    // Full fleet: the first submit says what it does; only the confirmation sends it.
    const full = actions.getByRole('button', { name: 'Full fleet', exact: true });
    await full.click();
    const fform = page.getByRole('form', { name: 'Full fleet' });
    await fform.getByTestId('note-promote-full').filter({ hasText: 'wave canary is still judged; once it passes, the last wave opens at once' }).waitFor();
    // Paused by another operator meanwhile (refetch held): CONFLICT, with the ways on.
    release = await holdReads(page, (u) => u.pathname === `/api/v1/rollouts/${r.id}`);
    await h.api('POST', `/rollouts/${r.id}/pause`, { reason: 'the other operator' });
    await fform.getByLabel('Reason').fill('staging ran a day');
    await page.keyboard.press('Enter');
    await fform.getByTestId('confirm').filter({ hasText: 'Once wave canary passes, wave all tells every remaining device of the target (3 devices in all) at once; skipped: mid.' }).waitFor();
    assert.equal((await view()).waves[0]?.full, undefined, 'nothing sent before the confirmation');
    await fform.getByRole('button', { name: 'Confirm: Full fleet' }).click();
    await fform.getByRole('status').filter({ hasText: /^CONFLICT: rollout ro-\w+ is paused: promote --full expects a running rollout/ }).waitFor();
    await h.api('POST', `/rollouts/${r.id}/resume`, { reason: 'go on' });
    await release();
    // Sent again after the hub's refusal: it asks again, then the hub takes it.
    await fform.getByRole('button', { name: 'Full fleet', exact: true }).click();
    await fform.getByRole('button', { name: 'Confirm: Full fleet' }).click();
    await page.getByTestId('rollout-full').filter({ hasText: /^Promoted to the full fleet by admin at .*: staging ran a day; once wave canary passes, wave all opens/ }).waitFor();
    assert.equal((await view()).waves[0]?.full?.reason, 'staging ran a day');
    await full.waitFor({ state: 'detached' });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an acknowledgement taken back on the alert\'s row; taken back already, NOTHING_TO_UNDO', async () => {
    // box-b reports a disk 1 % free: a disk_free rule fires on it.
    await reportState(clients[1]!, 'box-b', {}, { disk: { free: 1_000_000, total: 100_000_000 } });
    await waitFor('box-b\'s disk stored', async () => ((await h.api<DeviceInfo>('GET', '/devices/box-b')).reported?.disk ? true : undefined), { timeoutMs: 20_000 });
    await h.api('POST', '/alert-rules', { name: 'low disk', metric: 'disk_free', threshold: 0.1, severity: 'warning' });
    const a = await waitFor('the rule fires', async () => {
      h.hub.alerts?.evaluate();
      return (await h.api<{ alerts: Alert[] }>('GET', '/alerts')).alerts.find((x) => x.rule === 'low disk' && x.state === 'firing');
    }, { timeoutMs: 20_000 });
    await h.api('POST', `/alerts/${a.id}/ack`, { reason: 'looking' });
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('7');
    const row = page.locator(`tr[data-alert="${a.id}"]`);
    await row.getByText('acknowledged by admin').waitFor();
    await row.getByRole('button', { name: `Un-acknowledge alert ${a.id}` }).click();
    await row.getByLabel('Reason').fill('handed on to the night shift');
    await page.keyboard.press('Enter');
    await row.getByRole('button', { name: `Acknowledge alert ${a.id}`, exact: true }).waitFor();
    assert.equal((await h.api<{ alerts: Alert[] }>('GET', '/alerts?state=firing')).alerts.find((x) => x.id === a.id)?.acknowledged ?? null, null);

    await h.api('POST', `/alerts/${a.id}/ack`, { reason: 'looking again' });
    await row.getByRole('button', { name: `Un-acknowledge alert ${a.id}` }).click();
    const release = await holdReads(page, (u) => u.pathname === '/api/v1/alerts');
    await h.api('POST', `/alerts/${a.id}/unack`, { reason: 'the other operator' });
    await row.getByLabel('Reason').fill('handed on');
    await page.keyboard.press('Enter');
    await row.getByRole('status').filter({ hasText: /^NOTHING_TO_UNDO: / }).waitFor();
    await release();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('bidi controls in what a box reports are drawn as escapes, not obeyed', async () => {
    const at = new Date().toISOString();
    await reportState(clients[0]!, 'box-a', {}, {
      capabilities: ['cpu', 'simd\u202Eevil'],
      config: { sha256: null, sources: [], status: 'failed', at, error: { sha256: 'ab'.repeat(32), code: 'CONFIG_INVALID', message: 'invalid \u2066value\u2069 for \u202Dlog.level', field: 'log.level' } },
    });
    await waitFor('box-a\'s state stored', async () => ((await h.api<DeviceInfo>('GET', '/devices/box-a')).reported?.capabilities.length === 2 ? true : undefined), { timeoutMs: 20_000 });
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/devices/box-a'; });
    await page.getByTestId('device-capabilities').filter({ hasText: 'cpu simd\\u202eevil' }).waitFor();
    await page.getByTestId('device-config').filter({ hasText: 'refused: CONFIG_INVALID: invalid \\u2066value\\u2069 for \\u202dlog.level (field log.level)' }).waitFor();
    const text = await page.locator('main, body').first().textContent() ?? '';
    assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069]/, 'no bidi control is left in the page');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
