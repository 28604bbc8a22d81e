// "Try it" in the models view, in a real Chromium against a real hub and a real agent (issue 12;
// docs/console.md): a speech-like model built in code that only runs at 8000/16000 Hz (an INT64 scalar
// input) is pushed with a sample and its expected output; the agent installs it after its preflight on
// that sample. In the page, the sample runs with onnxruntime-web (served from the console's assets under
// the CSP, no violation) through the agent's validator, matches the expectation, and is shown next to
// the device's preflight; a version whose expectation is wrong differs in the browser too, and no
// device runs it (the device refused it at preflight). The device's row says whether it is online, and
// offline once its agent stops.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { SAMPLE_RATE_ENERGY, makeKeys, makeTrust } from '@edgefleet/examples';
import { hubEvents, pushBundle, startAgent, startHub, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import type { DeviceInfo } from '@edgefleet/shared';
import { buildRenderer, launchChromium, screenshotDir, signIn } from './helpers.js';
import { speechBundle } from './speech-bundle.js';

describe('console: Try it', () => {
  let dir: string;
  let hub: HubHandle;
  let agent: AgentHandle | undefined;
  let browser: Browser;
  let keys: ReturnType<typeof makeKeys>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-try-'));
    keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    [hub, browser] = await Promise.all([startHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath }), launchChromium(), buildRenderer()]) as [HubHandle, Browser, void];
    await pushBundle(hub, (await speechBundle(join(dir, 'bundles'), keys, '1.0.0', SAMPLE_RATE_ENERGY)).path);
    await pushBundle(hub, (await speechBundle(join(dir, 'bundles'), keys, '2.0.0', 0.5)).path);
    const [dev] = await enrollAgents(hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'speech-1' });
    agent = await startAgent({ dataDir: dev!.dataDir });
    await hub.api('POST', '/deployments', { model: 'speech', version: '1.0.0', target: { devices: ['speech-1'] }, reason: 'try it: good' });
    await waitFor('speech@1.0.0 active with its preflight', async () => (await hub.api<DeviceInfo>('GET', '/devices/speech-1')).models.some((m) => m.version === '1.0.0' && m.status === 'active' && m.preflight), { timeoutMs: 90_000 });
    await hub.api('POST', '/deployments', { model: 'speech', version: '2.0.0', target: { devices: ['speech-1'] }, reason: 'try it: wrong expectation' });
    await waitFor('2.0.0 refused at preflight', async () => (await hubEvents(hub.api, 'speech-1')).some((e) => e.code === 'MODEL_PREFLIGHT_FAILED'), { timeoutMs: 90_000 });
  });
  after(async () => {
    await browser?.close();
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the samples in the browser with onnxruntime-web, next to the devices\' preflight', async () => {
    const page = await signIn(browser, hub.http, hub.adminToken);
    await page.goto(`${hub.http}/#/models/speech/1.0.0`);
    await page.getByTestId('signature-status').filter({ hasText: /Signed/ }).waitFor();
    const tryIt = page.getByTestId('try-it');
    await tryIt.locator('tr[data-device="speech-1"]').getByText('outputs matched the expectations').waitFor();
    await tryIt.getByRole('button', { name: /Try it: run 1 sample/ }).click();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: 'matches' }).waitFor({ timeout: 30_000 });
    assert.equal(Number(await tryIt.getByTestId('browser-output').first().textContent()), SAMPLE_RATE_ENERGY, 'the browser computed the energy');
    await page.screenshot({ path: join(screenshotDir(), 'models-try-it.png') });

    // Another version pushed: the list reloads live, and this version's signatures are not checked again
    // (no second download of its bundle) nor is Try it taken away with its verdict.
    const downloads: string[] = [];
    page.on('request', (r) => { if (r.url().endsWith('/bundle')) downloads.push(r.url()); });
    await pushBundle(hub, (await speechBundle(join(dir, 'bundles'), keys, '3.0.0', SAMPLE_RATE_ENERGY)).path);
    await page.locator('td', { hasText: /^3\.0\.0$/ }).waitFor();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: 'matches' }).waitFor({ timeout: 1_000 });
    assert.deepEqual(downloads, [], 'the list reloaded without downloading the bundle again');

    // A model without a version (a link a stranger trims): its versions are highlighted, asking for one.
    await page.goto(`${hub.http}/#/models/speech`);
    await page.getByText('Select a version of speech (3 shown highlighted)').waitFor();
    assert.equal(await page.locator('tr.selected').count(), 3);
    await page.goto(`${hub.http}/#/models/nope`);
    await page.getByText('No model nope in the registry').waitFor();

    await page.goto(`${hub.http}/#/models/speech/2.0.0`);
    await page.getByTestId('signature-status').filter({ hasText: /Signed/ }).waitFor();
    await tryIt.getByText('No device reports this version').waitFor();
    await tryIt.getByRole('button', { name: /Try it/ }).click();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: /differs: output "energy" index 0 is 0\.375, expected 0\.5/ }).waitFor({ timeout: 30_000 });
    // The device's connection is shown beside its preflight: a box gone offline still reports the version.
    await page.goto(`${hub.http}/#/models/speech/1.0.0`);
    const row = tryIt.locator('tr[data-device="speech-1"]');
    await row.locator('.pill', { hasText: 'online' }).waitFor();
    await agent!.stop();
    agent = undefined;
    await row.locator('.pill', { hasText: 'offline' }).waitFor({ timeout: 30_000 });
    assert.equal(await row.getByRole('link', { name: 'speech-1' }).getAttribute('href'), '#/devices/speech-1');
    assert.deepEqual(page.errors, [], 'no CSP violation, no page error');
    await page.close();
  });
});
