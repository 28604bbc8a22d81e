// The console after `edgefleet model delete --keep-history` (docs/decisions/0138-bundle-drop-keeps-history.md;
// docs/console.md "Models"): a real hub in this process holds audio-energy 1.0.0, 2.0.0 and 3.0.0, and an admin
// drops 1.0.0's bundle. The models view marks 1.0.0 `bundle dropped` with when and by whom (what GET /models
// says) and what to do; its page says the hub refuses it, checks no signature and offers no Try it (there is
// no bundle to read: no BUNDLE_DROPPED error in their place); the New rollout form lists it disabled. A form
// that still thinks 3.0.0 whole (its models list read before 3.0.0's bundle was dropped) sends the rollout and
// shows the hub's BUNDLE_DROPPED refusal in full. And a deprecated version's page: an operator's Deprecate keeps its
// answer beside it; one whose form is open when another operator deprecates the version keeps the form, sends nothing
// and says why (docs/decisions/0147-console-action-gone-under-open-form.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleDropped, ModelVersionInfo } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { pushExampleBundle, startSmallHub, type SmallHub } from './small-hub.js';

const hash = (x: string) => (globalThis as unknown as { location: { hash: string } }).location.hash = x;

describe('console: a version whose bundle was dropped', () => {
  let h: SmallHub;
  let dropped: BundleDropped;
  before(async () => {
    h = await startSmallHub('ef-console-dropped-', ['dev-a']);
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) await pushExampleBundle(h, v);
    dropped = await h.api<BundleDropped>('DELETE', '/models/audio-energy/versions/1.0.0/bundle?reason=disk%20space');
  });
  after(() => h?.stop());

  it('reads as dropped, with when and by whom, in the models views and the rollout form', async () => {
    const listed = (await h.api<{ versions: ModelVersionInfo[] }>('GET', '/models')).versions.find((v) => v.version === '1.0.0');
    assert.deepEqual(listed?.bundleDropped, { at: dropped.at, by: dropped.by }, 'GET /models says who dropped it and when');
    const at = dropped.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
    const page = await signIn(h.browser, h.http, h.token);
    await page.keyboard.press('2');
    const versions = page.getByRole('table', { name: 'Model versions' });
    const row = (v: string) => versions.locator('tr').filter({ has: page.getByRole('link', { name: v, exact: true }) });
    const mark = row('1.0.0').getByTestId('version-dropped');
    await mark.waitFor();
    assert.equal(await mark.textContent(), `bundle dropped ${at} by ${dropped.by}`);
    assert.match(await mark.locator('.pill').getAttribute('title') ?? '', /refuses deploys, rollouts and downloads of it \(BUNDLE_DROPPED\); push the same bundle again \(sha256 [0-9a-f]{12}…\)/);
    assert.match(await row('2.0.0').textContent() ?? '', /assignable/);

    await row('1.0.0').getByRole('link', { name: '1.0.0' }).click();
    const refused = page.getByTestId('version-bundle-dropped');
    await refused.waitFor();
    assert.match(await refused.textContent() ?? '', new RegExp(`^✘ Not deployable: bundle dropped at ${at} by ${dropped.by} \\(its history is kept\\)`));
    assert.equal(await page.getByTestId('signature-status').textContent(), 'Signatures not checked here: the hub no longer holds the bundle.');
    await page.getByText('Not available: the bundle was dropped.').waitFor();
    assert.equal(await page.getByText('BUNDLE_DROPPED:').count(), 0, 'no failed download in place of the signatures');

    await page.evaluate(hash, '#/rollouts/new');
    const select = page.getByRole('form', { name: 'New rollout' }).getByLabel('Version');
    await select.waitFor();
    assert.equal(await select.inputValue(), '3.0.0');
    const option = select.locator('option[value="1.0.0"]');
    assert.equal(await option.isDisabled(), true, '1.0.0 cannot be picked');
    assert.equal(await option.textContent(), '1.0.0 (bundle dropped)');
    assert.match(await option.getAttribute('title') ?? '', /BUNDLE_DROPPED/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a rollout of a version dropped since the form read the list shows the hub\'s BUNDLE_DROPPED refusal', async () => {
    // The form's list as read before the drop: the hub's answer without the mark (the drop below is real).
    const page = await signIn(h.browser, h.http, h.token, { prepare: (p) => p.route('**/api/v1/models', async (route) => {
      const res = await route.fetch();
      const body = await res.json() as { versions: ModelVersionInfo[] };
      await route.fulfill({ response: res, json: { versions: body.versions.map((v) => (v.version === '3.0.0' ? { ...v, bundleDropped: null } : v)) } });
    }) });
    await h.api('DELETE', '/models/audio-energy/versions/3.0.0/bundle?reason=disk%20space');
    await page.evaluate(hash, '#/rollouts/new');
    const form = page.getByRole('form', { name: 'New rollout' });
    await form.getByLabel('Version').waitFor();
    assert.equal(await form.getByLabel('Version').inputValue(), '3.0.0');
    await form.getByLabel('Reason').fill('roll out 3.0.0');
    await form.getByRole('button', { name: 'Create rollout' }).click();
    const alert = form.getByRole('alert').filter({ hasText: 'BUNDLE_DROPPED' });
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /^BUNDLE_DROPPED: the bundle of audio-energy 3\.0\.0 was dropped at .* by .* \(its history is kept\): push the same bundle again/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a version\'s page says it is deprecated; Deprecate keeps its answer, and an open form another operator\'s deprecation took away says why', async () => {
    for (const v of ['4.0.0', '5.0.0']) await pushExampleBundle(h, v);
    const page = await signIn(h.browser, h.http, h.token);
    await page.evaluate(hash, '#/models/audio-energy/4.0.0');
    const actions = page.getByLabel('Model actions');
    await actions.getByRole('button', { name: 'Deprecate' }).click();
    const form = actions.getByRole('form', { name: 'Deprecate' });
    await form.getByLabel('Reason').fill('superseded by 5.0.0');
    await form.getByRole('button', { name: 'Deprecate' }).click();
    await page.getByTestId('version-deprecated').filter({ hasText: 'superseded by 5.0.0' }).waitFor();
    assert.equal(await page.getByTestId('version-deprecated').textContent(), '⚠ Deprecated (superseded by 5.0.0): no longer assignable; the devices running it keep it until moved to another version.');
    assert.equal(await actions.getByRole('status').textContent(), 'deprecated', 'the hub\'s answer stays beside where its button was');
    assert.equal(await actions.getByRole('button', { name: 'Deprecate' }).count(), 0, 'nothing left to deprecate');

    await page.evaluate(hash, '#/models/audio-energy/5.0.0');
    await actions.getByRole('button', { name: 'Deprecate' }).click();
    await form.getByLabel('Reason').fill('typed before the other operator');
    await h.api('POST', '/models/audio-energy/versions/5.0.0/deprecate', { reason: 'bad calibration' });
    const gone = form.getByTestId('action-gone');
    await gone.waitFor();
    assert.equal(await gone.textContent(), 'Deprecate: not sent: the version was deprecated (bad calibration)');
    assert.equal(await form.getByLabel('Reason').inputValue(), 'typed before the other operator', 'what was typed is kept');
    assert.equal(await form.getByRole('button', { name: 'Deprecate' }).isDisabled(), true);
    await form.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await actions.getByRole('button', { name: 'Deprecate' }).count(), 0);
    const audit = await h.api<{ entries: { action: string; target: string }[] }>('GET', '/audit?action=model.deprecate');
    assert.deepEqual(audit.entries.map((e) => e.target).sort(), ['audio-energy@4.0.0', 'audio-energy@5.0.0'], 'one deprecation each: the open form sent nothing');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
