// What changes on a view without this operator doing it, said to a screen reader (docs/console.md "Keyboard and screen
// readers", ui/announce.tsx), in a real Chromium against a real hub whose boxes are on its broker with mqtt.js: a
// rollout's page says once, in its polite live region, another operator (alice) pausing and resuming it, the hub's gate
// passing its canary and starting the next wave, the next wave failing its gate and the rollout rolled back; on another
// rollout advanced by hand, each wave passed waiting for Promote and alice's Promote completing it; nothing on the first
// draw, nothing on a refetch that changes nothing, nothing for this operator's own Pause, Resume and Promote (their
// answers say it, Promote's naming the wave it opened). The alerts view says an alert firing and resolving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { EVENTS_SCHEMA, deviceTopic, type Alert, type Rollout, type TokenCreated } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples/fleet';
import { adminApi, type AdminApi } from '../sim/tagged-hub.js';
import { signIn, type ConsolePage } from './helpers.js';
import { connectDevice, pushExampleBundle, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const BOXES = ['box-a', 'box-b', 'box-c'];
const go = (page: ConsolePage, to: string) => page.evaluate((x) => { (globalThis as unknown as { location: { hash: string } }).location.hash = x; }, to);

/** Records every text put in the page's live region (`said`, a fresh node each time) from now on, in `said` of the page's global. */
async function listen(page: ConsolePage): Promise<() => Promise<string[]>> {
  await page.evaluate(`(() => {
    const w = globalThis;
    w.said = [];
    let last = null;
    new MutationObserver(() => {
      const node = document.querySelector('[data-testid="said"]')?.firstElementChild ?? null;
      if (node && node !== last) w.said.push(node.textContent);
      last = node;
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  return () => page.evaluate('globalThis.said') as Promise<string[]>;
}

describe('console: what changes on its own is said once to a screen reader', { timeout: 120_000 }, () => {
  let h: SmallHub;
  let alice: AdminApi;
  const clients: MqttClient[] = [];
  before(async () => {
    h = await startSmallHub('ef-console-said-', BOXES, { rollouts: { tickMs: 200, jitter: 0.1 } });
    await pushExampleBundle(h, '1.0.0');
    for (const id of BOXES) clients.push(await connectDevice(h, id));
    alice = adminApi(h.http, (await h.api<TokenCreated>('POST', '/tokens', { name: 'alice', role: 'operator' })).token);
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true);
    await h?.stop();
  });

  /** Alice accepts the current wave's blocking gates that do not pass (these boxes report nothing): the hub's gate then passes it. */
  const acceptWaiting = async (id: string) => {
    const r = await waitFor('the wave judged', async () => { const x = await alice<Rollout>('GET', `/rollouts/${id}`); return x.waves[x.currentWave]?.state === 'evaluating' ? x : undefined; }, { timeoutMs: 30_000 });
    const waiting = r.waves[r.currentWave]!.gates.filter((g) => g.blocking && !g.accepted && g.verdict !== 'pass').map((g) => g.name);
    await alice('POST', `/rollouts/${id}/promote`, { reason: 'the boxes are fine', acceptGates: waiting });
  };

  it('a rollout\'s page says another operator\'s and the hub\'s changes once, and not this operator\'s own', async () => {
    const r = await alice<Rollout>('POST', '/rollouts', {
      model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'said test', advance: 'auto', onFailure: 'rollback', gates: { stuckSec: 3600 },
      waves: [{ name: 'canary', percent: 1, minDevices: 1, bakeSec: 0 }, { name: 'mid', percent: 2, minDevices: 2, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }],
    });
    const page = await signIn(h.browser, h.http, h.token);
    const reads: string[] = [];
    page.on('requestfinished', (q) => { if (new URL(q.url()).pathname === `/api/v1/rollouts/${r.id}`) reads.push(q.method()); });
    await go(page, `#/rollouts/${r.id}`);
    await page.getByTestId('said').waitFor({ state: 'attached' });
    const said = await listen(page);
    const region = page.getByTestId('said');
    await page.locator('[data-wave="canary"]').filter({ hasText: 'evaluating' }).waitFor({ timeout: 30_000 });

    // This operator's own Pause and Resume: each answer is said beside its button, the live region says nothing.
    const actions = page.getByLabel('Rollout actions');
    for (const [label, answer] of [['Pause', 'pause: paused'], ['Resume', 'resume: running']] as const) {
      await actions.getByRole('button', { name: label, exact: true }).click();
      await page.getByRole('form', { name: label }).getByLabel('Reason').fill(`my own ${label}`);
      await page.keyboard.press('Enter');
      await actions.getByRole('status').filter({ hasText: new RegExp(`^${answer}$`) }).waitFor();
    }
    await alice('POST', `/rollouts/${r.id}/pause`, { reason: 'the canary box looks slow' });
    await region.filter({ hasText: /^Paused by alice: the canary box looks slow$/ }).waitFor();
    await alice('POST', `/rollouts/${r.id}/resume`, { reason: 'it was the network' });
    await region.filter({ hasText: /^Resumed by alice: it was the network$/ }).waitFor();

    // The canary's gates accepted, the hub's gate passes it and starts the next wave.
    await acceptWaiting(r.id);
    await region.filter({ hasText: /^Wave 2 of 3 \(mid\) started$/ }).waitFor({ timeout: 30_000 });
    // A box of that wave says its install failed: the hub fails the wave's gate and rolls the rollout back.
    const box = await waitFor('a box of wave mid told', async () => (await alice<Rollout>('GET', `/rollouts/${r.id}`)).devices?.find((d) => d.wave === 'mid' && d.notifiedAt), { timeoutMs: 30_000 });
    const event = { seq: 1, at: new Date().toISOString(), kind: 'install_failed', model: 'audio-energy', version: '1.0.0', code: 'MODEL_PREFLIGHT_FAILED', message: 'said test' };
    await clients[BOXES.indexOf(box.deviceId)]!.publishAsync(deviceTopic(box.deviceId, 'events'), JSON.stringify({ schema: EVENTS_SCHEMA, deviceId: box.deviceId, events: [event] }), { qos: 1 });
    await region.filter({ hasText: /^Rolled back: wave mid failed its gates: install_success / }).waitFor({ timeout: 30_000 });
    const rolledBack = (await alice<Rollout>('GET', `/rollouts/${r.id}`)).stateReason;
    const expected = ['Paused by alice: the canary box looks slow', 'Resumed by alice: it was the network', 'Wave 2 of 3 (mid) started', `Rolled back: ${rolledBack}`];
    assert.deepEqual(await said(), expected, 'each change said once; not the first draw, not this operator\'s own');

    // Another rollout made: this page reads its rollout again (the stream's rollout event), which changed nothing: nothing said.
    const n = reads.length;
    const next = await alice<Rollout>('POST', '/rollouts', {
      model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'said test, again', advance: 'manual', gates: { stuckSec: 3600 },
      waves: [{ name: 'canary', percent: 1, minDevices: 1, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }],
    });
    await waitFor('the rollout read again', () => reads.length > n || undefined, { timeoutMs: 20_000 });
    assert.deepEqual(await said(), expected, 'a refetch that changes nothing says nothing');

    // The other rollout's page, advanced by hand: its first draw says nothing; its canary passed waits for Promote.
    await go(page, `#/rollouts/${next.id}`);
    await page.getByTestId('rollout-detail').getByText(next.id, { exact: true }).waitFor();
    await acceptWaiting(next.id);
    await region.filter({ hasText: /^waiting for promote: wave canary passed \(advance manual\); Promote opens wave all 100%$/ }).waitFor({ timeout: 30_000 });
    // This operator's Promote: its answer names the wave it opened; the region says nothing of it.
    await actions.getByRole('button', { name: 'Promote', exact: true }).click();
    await page.getByRole('form', { name: 'Promote' }).getByLabel('Reason').fill('canary fine');
    await page.keyboard.press('Enter');
    await actions.getByRole('status').filter({ hasText: /^promote: running; wave 2 of 2 \(all\) started$/ }).waitFor();
    // The last wave passed, alice's Promote completes it.
    await acceptWaiting(next.id);
    await region.filter({ hasText: /^waiting for promote: wave all passed \(advance manual\); Promote completes the rollout$/ }).waitFor({ timeout: 30_000 });
    await alice('POST', `/rollouts/${next.id}/promote`, { reason: 'all fine' });
    await region.filter({ hasText: /^Completed by alice: all fine/ }).waitFor();
    assert.equal((await said()).length, expected.length + 3, 'on the other rollout\'s page: the two waits for Promote and the completion');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('the alerts view says an alert starting and stopping firing while it is shown', async () => {
    await h.api('POST', '/alert-rules', { name: 'low disk', metric: 'disk_free', threshold: 0.1, severity: 'warning' });
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('7');
    await page.getByRole('heading', { level: 1, name: /^Alerts/ }).waitFor();
    await page.getByTestId('said').waitFor({ state: 'attached' });
    const said = await listen(page);
    const region = page.getByTestId('said');
    const disk = async (free: number, state: Alert['state']) => {
      await reportState(clients[1]!, 'box-b', {}, { disk: { free, total: 100_000_000 } });
      return waitFor(`the alert ${state}`, async () => {
        h.hub.alerts?.evaluate();
        return (await h.api<{ alerts: Alert[] }>('GET', '/alerts')).alerts.find((x) => x.rule === 'low disk' && x.state === state);
      }, { timeoutMs: 20_000 });
    };
    const a = await disk(1_000_000, 'firing');
    await region.filter({ hasText: new RegExp(`^Alert ${a.id} fired: low disk on ${a.key}\\. 1 firing$`) }).waitFor();
    await disk(90_000_000, 'resolved');
    await region.filter({ hasText: new RegExp(`^Alert ${a.id} resolved: low disk on ${a.key}\\. None firing$`) }).waitFor();
    assert.equal((await said()).length, 2);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
