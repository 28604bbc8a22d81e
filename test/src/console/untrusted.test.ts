// The console after a release key rotation (docs/security.md "Key rotation and stored versions";
// docs/console.md): a real hub in this process, restarted with a trust document that rotated the release
// key out, holds 1.0.0 signed only by the old key and 2.0.0 signed by the new one. The models view marks
// 1.0.0 not trusted and says what to do, its page says the hub refuses deploys and rollouts of it, the New
// rollout form lists it but does not let it be picked (2.0.0 is), and the rollout of 1.0.0 that was
// running when the trust rotated shows the hub's VERSION_NOT_TRUSTED pause reason in full.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { buildMultiBundle, makeKeys, makeTrust, waitFor } from '@edgefleet/examples';
import { Hub, HubConfig, noopLogger, systemClock } from '@edgefleet/hub';
import type { Rollout } from '@edgefleet/shared';
import { adminApi, taggedHub, type AdminApi } from '../sim/tagged-hub.js';
import { buildRenderer, launchChromium, signIn } from './helpers.js';

describe('console: a version signed by rotated-out keys', () => {
  let dir: string;
  let hub: Hub | undefined;
  let browser: Browser | undefined;
  let http = '';
  let token = '';
  let api: AdminApi;
  let rollout: Rollout;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-console-untrusted-'));
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    // One device a step at most (tokens start at one): the rollout tells dev-a and leaves dev-b due.
    const rollouts = { tickMs: 300, desiredPerMinute: 0.01, jitter: 0.1 };
    const sims = ['dev-a', 'dev-b'].map((id) => ({ id, secret: `s3cret-${id}-${'x'.repeat(24)}` }));
    const [first, b, v1, v2] = await Promise.all([
      taggedHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, devices: sims, tags: () => ({ site: 'north' }), config: { rollouts } }),
      launchChromium(),
      buildMultiBundle({ dir: join(dir, 'v1'), keys, version: '1.0.0' }),
      buildMultiBundle({ dir: join(dir, 'v2'), keys, version: '2.0.0', signWith: [keys.untrusted] }),
      buildRenderer(),
    ]);
    [hub, browser, token] = [first.hub, b, first.token];
    await first.api('POST', '/models', new Uint8Array(readFileSync(v1.path)));
    rollout = await first.api<Rollout>('POST', '/rollouts', { model: 'audio-energy', version: '1.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 60 }], reason: 'before the rotation' });
    await hub.stop();
    hub = undefined;
    // `edgefleet trust rotate` dropping the release key for `untrusted`, then the hub restarted on it.
    const rotated = makeTrust(join(dir, 'rotated'), { ...keys, release: keys.untrusted }, { version: 2 });
    hub = new Hub(HubConfig.parse({ dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, trust: rotated.path, hubKey: keys.files.hub.keyPath, logLevel: 'silent', rollouts }), noopLogger, systemClock);
    http = (await hub.start()).http;
    api = adminApi(http, token);
    await api('POST', '/models', new Uint8Array(readFileSync(v2.path)));
    await waitFor('the rollout paused on the rotated trust', async () => (await api<Rollout>('GET', `/rollouts/${rollout.id}`)).state === 'paused', { timeoutMs: 15_000 });
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks it not deployable, keeps it out of the rollout form\'s picks, and shows the paused rollout\'s reason', async () => {
    const page = await signIn(browser!, http, token);
    await page.keyboard.press('2');
    const versions = page.getByRole('table', { name: 'Model versions' });
    const row = (v: string) => versions.locator('tr').filter({ has: page.getByRole('link', { name: v, exact: true }) });
    await row('1.0.0').getByText('not trusted').waitFor();
    assert.match(await row('1.0.0').textContent() ?? '', /signed by rotated-out keys: sign it with a current release key and push it as a new version/);
    assert.match(await row('2.0.0').textContent() ?? '', /assignable/);
    assert.doesNotMatch(await row('2.0.0').textContent() ?? '', /not trusted/);
    await row('1.0.0').getByRole('link', { name: '1.0.0' }).click();
    await page.getByTestId('version-not-trusted').filter({ hasText: /Not deployable: the hub refuses deploys and rollouts of it \(VERSION_NOT_TRUSTED\)/ }).waitFor();
    await row('2.0.0').getByRole('link', { name: '2.0.0' }).click();
    await page.getByTestId('signature-status').filter({ hasText: /Signed: 1 of threshold 1/ }).waitFor();
    assert.equal(await page.getByTestId('version-not-trusted').count(), 0);

    // The form lists 1.0.0 disabled, and picks 2.0.0.
    await page.evaluate(() => { (globalThis as unknown as { location: { hash: string } }).location.hash = '#/rollouts/new'; });
    const select = page.getByRole('form', { name: 'New rollout' }).getByLabel('Version');
    await select.waitFor();
    assert.equal(await select.inputValue(), '2.0.0');
    const option = select.locator('option[value="1.0.0"]');
    assert.equal(await option.isDisabled(), true, '1.0.0 cannot be picked');
    assert.match(await option.textContent() ?? '', /^1\.0\.0 \(not trusted: signed by rotated-out keys/);
    await assert.rejects(select.selectOption('1.0.0', { timeout: 1_000 }));
    assert.equal(await select.inputValue(), '2.0.0');

    // The rollout running when the trust rotated: paused, with the hub's reason in full.
    const paused = await api<Rollout>('GET', `/rollouts/${rollout.id}`);
    assert.match(paused.stateReason ?? '', /^VERSION_NOT_TRUSTED: audio-energy@1\.0\.0 is signed by release key\(s\) .*Sign it with a current release key/);
    await page.evaluate((id) => { (globalThis as unknown as { location: { hash: string } }).location.hash = `#/rollouts/${id}`; }, rollout.id);
    const detail = page.getByTestId('rollout-detail');
    await detail.getByTestId('rollout-state').filter({ hasText: 'paused' }).waitFor();
    assert.equal(await detail.getByTestId('rollout-reason').textContent(), paused.stateReason);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
