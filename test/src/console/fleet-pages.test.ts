// The fleet view of a fleet larger than one answer (docs/console.md "Fleet", decision 0080): the hub
// answers GET /devices 1,000 devices at a time, and the console follows `next` until it holds them
// all, in a real Chromium against a real hub with 2,001 devices: three requests, none over the bound,
// and every device counted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICE_PAGE } from '@edgefleet/shared';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const N = 2 * DEVICE_PAGE.maxLimit + 1;

describe('console: a fleet of more than one page', () => {
  let h: SmallHub;
  before(async () => { h = await startSmallHub('ef-console-fleet-pages-', Array.from({ length: N }, (_, i) => `dev-${String(i).padStart(5, '0')}`)); });
  after(() => h?.stop());

  it(`reads every page of GET /devices (${N} devices in three answers of at most ${DEVICE_PAGE.maxLimit})`, async () => {
    const page = await signIn(h.browser, h.http, h.token);
    const answers: number[] = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname !== '/api/v1/devices') return;
      void res.json().then((b: { devices: unknown[] }) => answers.push(b.devices.length), () => answers.push(-1));
    });
    await page.reload();
    await page.getByTestId('offline-count').filter({ hasText: String(N) }).waitFor();
    assert.deepEqual(answers.sort((a, b) => b - a), [DEVICE_PAGE.maxLimit, DEVICE_PAGE.maxLimit, 1]);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
