// The web console in a real Chromium against a real hub process with real agents (issue 12): sign in
// with a token, watch devices appear and come online without a reload, open the device, models (the
// signatures checked in the page itself), deployments and audit views; a viewer token sees no write
// action; a revoked token returns to the login form. Also: the strict CSP header, and the hub's answer
// when the renderer is not built. Saves a screenshot of each view (.data/screenshots/console).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startAgent, stopFleet, waitFor, type AgentHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { fixtureAndHub, MODEL, type HubSetup } from '../scenarios/helpers.js';
import { buildRenderer, launchChromium, screenshotDir, signIn } from './helpers.js';

describe('web console', () => {
  let dir: string;
  let s: HubSetup;
  let browser: Browser;
  const agents: AgentHandle[] = [];
  let viewer: { id: string; token: string };
  const shots = screenshotDir();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-'));
    await buildRenderer();
    [s, browser] = await Promise.all([fixtureAndHub(dir), launchChromium()]);
    viewer = await s.hub.api<{ id: string; token: string }>('POST', '/tokens', { name: 'console-viewer', role: 'viewer' });
  });
  after(async () => {
    await browser?.close();
    await stopFleet(agents, s?.hub);
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (token: string) => signIn(browser, s.hub.http, token);

  it('serves the console under a strict CSP; an admin watches devices enroll and come online live, and opens every view', async () => {
    const res = await fetch(s.hub.http);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);

    const page = await open(s.hub.adminToken);
    await page.getByText('No devices yet').waitFor();
    await page.getByTestId('role').filter({ hasText: 'admin' }).waitFor();
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();

    // Enroll two real agents and start one: the page learns of both from the stream, no reload.
    const enrolled = await enrollAgents(s.hub, 2, { dataRoot: join(dir, 'agents'), id: (i) => `console-${i + 1}`, tags: (i) => ({ site: i === 0 ? 'north' : 'south' }) });
    await page.locator('[data-key="console-2"]').waitFor();
    agents.push(await startAgent({ dataDir: enrolled[0]!.dataDir, config: { summaries: { windowSec: 2 } } }));
    await page.getByTestId('online-count').filter({ hasText: '1' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-key="console-1"]').getByText('online').waitFor();

    // A deployment: its progress reaches the device row and the deployments view live.
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { tags: { site: 'north' } }, reason: 'console test' });
    await page.locator('[data-key="console-1"]').getByText(`${MODEL}@1.0.0`).waitFor({ timeout: 60_000 });
    // The free share of the box's disk as its agent reported it (statfs of its data dir), within a point.
    const fs = statfsSync(enrolled[0]!.dataDir);
    const pct = Math.floor((fs.bavail / fs.blocks) * 100);
    await waitFor(`the disk column near ${pct}%`, async () => {
      const t = await page.locator('[data-key="console-1"]').getByTitle(/ free of /).textContent();
      return t && Math.abs(parseInt(t, 10) - pct) <= 1 ? true : undefined;
    });
    // The versions card follows what the devices report running (GET /fleet read again on their state reports).
    await page.locator('[data-key="console-1"]').getByText('active', { exact: true }).waitFor({ timeout: 60_000 });
    await page.getByRole('list', { name: 'Versions in use' }).getByText(`${MODEL}@1.0.0`).waitFor();
    await page.screenshot({ path: join(shots, 'fleet.png') });
    await page.locator('#fleet-tag').fill('site=north'); // filtered by the hub
    await waitFor('filtered to one device', async () => (await page.getByTestId('device-count').textContent())?.startsWith('1 of 1 devices matching'));
    await page.locator('#fleet-tag').fill('');
    await waitFor('both devices again', async () => (await page.getByTestId('device-count').textContent())?.startsWith('2 of 2 devices'));

    // Keyboard: focus the table, move to the first row and open it with Enter.
    await page.getByRole('grid', { name: 'Devices' }).focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /console-1/ }).waitFor();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await page.getByText(/^[\d.]+ [KMGTP]?i?B free of [\d.]+ [KMGTP]?i?B \(\d+%\)$/).waitFor();
    await page.locator('.timeline li').first().waitFor({ timeout: 30_000 });
    for (const action of ['Set tags', 'Rotate secret', 'Revoke']) assert.equal(await page.getByRole('button', { name: action }).count(), 1, `admin sees ${action}`);
    await page.screenshot({ path: join(shots, 'device.png') });

    await page.keyboard.press('2');
    await page.getByRole('link', { name: '1.0.0' }).click();
    await page.getByTestId('signature-status').filter({ hasText: /Signed: 1 of threshold 1 release signatures verified in this console/ }).waitFor();
    await page.getByRole('button', { name: 'Deprecate' }).waitFor();
    await page.screenshot({ path: join(shots, 'models.png') });
    // An admin may delete a version, but not this one: the hub names what refers to it.
    await page.getByRole('button', { name: 'Delete version' }).click();
    const del = page.getByRole('form', { name: 'Delete version' });
    await del.getByLabel('Reason').fill('pushed by mistake?');
    await del.getByRole('button', { name: 'Delete version' }).click();
    await del.getByRole('status').filter({ hasText: /cannot be deleted: deployment #\d+ assigns it\. .*deprecate it instead/ }).waitFor();
    await del.getByRole('button', { name: 'Cancel' }).click();

    await page.keyboard.press('3');
    await page.getByRole('link', { name: '1' }).first().click();
    await page.getByTestId('deployment-detail').getByText('active').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'deployments.png') });

    await page.keyboard.press('4');
    await page.getByLabel('Audit entries').getByText('device.enroll').first().waitFor();
    // A write made elsewhere appears without a reload.
    await s.hub.api('PUT', '/devices/console-2/tags', { tags: { site: 'south', ring: 'canary' }, reason: 'from the CLI' });
    await page.getByLabel('Audit entries').getByText('from the CLI').waitFor();
    // A misspelt action is the hub's refusal naming the one meant, not "No entry matches"; the field suggests the actions.
    assert.ok(await page.locator('#audit-actions option[value="device.tags"]').count() === 1, 'the Action field suggests the actions');
    await page.getByLabel('Action').fill('device.tagz');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('expected "device.tags"?', { exact: false }).waitFor();
    await page.getByLabel('Action').fill('device.tags');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitFor('audit filtered', async () => (await page.getByLabel('Audit entries').locator('tbody tr').count()) === 1);
    await page.screenshot({ path: join(shots, 'audit.png') });
    // More entries than the view's page (500): the newest are shown, the view says older ones exist, and
    // "Show older" loads them (GET /audit?order=desc&before=next).
    for (let i = 0; i < 500; i++) await s.hub.api('POST', '/enrollment-tokens', { note: `console paging ${i}` });
    const all = (await s.hub.api<{ entries: unknown[] }>('GET', '/audit?limit=10000')).entries.length;
    assert.ok(all > 500 && all <= 1000, `${all} entries: two pages`);
    await page.getByRole('button', { name: 'Clear' }).click();
    const older = page.getByRole('status', { name: 'Older entries' });
    await older.waitFor();
    await waitFor('the newest page', async () => (await page.getByLabel('Audit entries').locator('tbody tr').count()) === 500);
    await older.getByRole('button', { name: 'Show older' }).click();
    await waitFor('every entry', async () => (await page.getByLabel('Audit entries').locator('tbody tr').count()) === all);
    assert.equal(await older.count(), 0, 'nothing older left');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a viewer sees no write action; a revoked token returns to the login form', async () => {
    const page = await open(viewer.token);
    await page.getByTestId('role').filter({ hasText: 'viewer' }).waitFor();
    await page.locator('[data-key="console-1"]').click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    for (const action of ['Set tags', 'Rotate secret', 'Revoke', 'Deprecate', 'Delete version']) assert.equal(await page.getByRole('button', { name: action }).count(), 0, `viewer must not see ${action}`);
    await page.keyboard.press('2');
    await page.getByRole('link', { name: '1.0.0' }).click();
    await page.getByTestId('signature-status').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Deprecate' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Delete version' }).count(), 0);

    await s.hub.api('POST', `/tokens/${viewer.id}/revoke`, { reason: 'console test: 401 returns to login' });
    // A request with the revoked token is answered 401; the live stream may get there first (the hub ends a
    // revoked token's stream at its next heartbeat and the console reconnects within 0.5 s), the login form
    // then replacing the link before it is clicked.
    const login = page.getByLabel('Token');
    await page.getByRole('link', { name: 'Audit log' }).click({ timeout: 10_000 }).catch(async (err: unknown) => { if (!(await login.isVisible())) throw err; });
    await login.waitFor();
    await page.getByText(/no longer accepts this token/).waitFor();
    await page.close();
  });

  it('tags with spaces and commas survive Set tags and are found; another device opens with no form or secret of the one before', async () => {
    const tags = { site: 'south', note: 'hello world', loc: 'a,zone=x' };
    await s.hub.api('PUT', '/devices/console-2/tags', { tags, reason: 'console test: values with spaces and commas' });
    const page = await open(s.hub.adminToken);
    const go = (hash: string) => page.evaluate((h) => { (globalThis as unknown as { location: { hash: string } }).location.hash = h; }, hash);
    await go('#/devices/console-2');
    await page.getByRole('heading', { name: /console-2/ }).waitFor();
    await page.getByRole('button', { name: 'Set tags' }).click();
    const input = page.locator('#tags-input');
    assert.equal(await input.inputValue(), 'site=south note="hello world" loc="a,zone=x"');
    await input.fill(`${await input.inputValue()} ring=canary`);
    await page.getByRole('form', { name: 'Set tags' }).getByRole('button', { name: 'Set tags' }).click();
    await page.getByText('tags saved').waitFor();
    assert.deepEqual((await s.hub.api<{ tags: Record<string, string> }>('GET', '/devices/console-2')).tags, { ...tags, ring: 'canary' });
    await page.getByRole('button', { name: 'Set tags' }).click(); // done, the form closed: opened again, left open

    // A secret shown once and an open form stay with their device.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('form', { name: 'Rotate secret' }).getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText(/new secret \(shown once/).waitFor();
    assert.equal(await page.locator('#tags-input').count(), 1, 'the Set tags form is still open on console-2');
    await go('#/devices/console-1');
    await page.getByRole('heading', { name: /console-1/ }).waitFor();
    // What its real agent reported about itself: the runtime backend (auto: native here) among its capabilities.
    await page.getByTestId('device-runtime').filter({ hasText: 'native backend' }).waitFor();
    assert.match((await page.getByTestId('device-capabilities').textContent()) ?? '', /(^| )backend-native( |$)/);
    assert.equal(await page.getByText(/new secret/).count(), 0, 'console-2\'s secret is not shown on console-1');
    assert.equal(await page.locator('#tags-input').count(), 0, 'no form is open on the device just opened');

    // The fleet finds it by a tag value with a space or a comma, from the tag filter or the search (any case), through the hub.
    await go('#/fleet');
    await page.locator('#fleet-tag').fill('note=hello world');
    await waitFor('filtered by a tag with a space', async () => (await page.getByTestId('device-count').textContent())?.startsWith('1 of 1 devices matching'));
    await page.locator('#fleet-tag').fill('loc=a,zone=x');
    await waitFor('filtered by a tag with a comma', async () => (await page.getByTestId('device-count').textContent())?.startsWith('1 of 1 devices matching'));
    await page.locator('#fleet-tag').fill('');
    await page.locator('#fleet-search').fill('HELLO World');
    await waitFor('found by a tag value in another case', async () => (await page.getByTestId('device-count').textContent())?.startsWith('1 of 1 devices matching'));

    // An address that is not valid percent-encoding is no view, not an uncaught error.
    await go('#/devices/%E0%A4%A');
    await page.getByText('No view at #/devices/%E0%A4%A').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('an operator undeploys a deployment: a reason, the device count from a dry run, then the confirmed undeploy', async () => {
    const dep = await s.hub.api<{ id: number }>('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { devices: ['console-2'] }, reason: 'console undeploy test' });
    const page = await open(s.hub.adminToken);
    await page.evaluate((h) => { (globalThis as unknown as { location: { hash: string } }).location.hash = h; }, `#/deployments/${dep.id}`);
    const detail = page.getByTestId('deployment-detail');
    await detail.getByRole('heading', { name: new RegExp(`Deployment ${dep.id}:`) }).waitFor();
    await detail.getByRole('button', { name: 'Undeploy' }).click();
    const form = page.getByRole('form', { name: 'Undeploy' });
    await form.getByRole('button', { name: 'Check devices' }).click(); // no reason: refused in the page
    await form.getByText('a reason is required').waitFor();
    await form.getByLabel('Reason').fill('retired from the console');
    await form.getByRole('button', { name: 'Check devices' }).click();
    await form.getByTestId('undeploy-count').filter({ hasText: `Stops ${MODEL} on 1 device(s).` }).waitFor();
    assert.equal((await s.hub.api<{ undeployed?: unknown }>('GET', `/deployments/${dep.id}`)).undeployed, undefined, 'the check changes nothing');
    await form.getByRole('button', { name: 'Undeploy from 1 device(s)' }).click();
    await detail.getByTestId('undeployed').filter({ hasText: 'retired from the console' }).waitFor();
    await detail.locator('.pill.st-removing').first().waitFor();
    const audit = await s.hub.api<{ entries: Array<{ reason: string | null; details: unknown }> }>('GET', '/audit?action=deployment.undeploy');
    assert.deepEqual(audit.entries.map((e) => [e.reason, e.details]), [['retired from the console', { id: dep.id, devices: 1, superseded: 0 }]]);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
