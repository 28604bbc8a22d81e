// The fleet view follows the live stream under its filters (docs/console.md "Fleet", decision 0089), in a real
// Chromium against a real hub whose devices connect to its broker with mqtt.js: a device whose tags, status or
// versions change so that it stops matching leaves the table, one that starts matching appears in its place,
// and "N of M devices matching" follows, without a reload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { signIn, type ConsolePage } from './helpers.js';
import { connectDevice, reportState, startSmallHub, type SmallHub } from './small-hub.js';

const IDS = ['dev-a', 'dev-b', 'dev-c', 'dev-d'];

describe('console: the fleet view follows devices in and out of its filters', { timeout: 120_000 }, () => {
  let h: SmallHub;
  const clients: MqttClient[] = [];
  before(async () => { h = await startSmallHub('ef-console-fleet-follow-', IDS); });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await h?.stop();
  });

  const shown = (page: ConsolePage) => page.locator('.vbody [data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  /** The count reads `text` and the table holds exactly `ids`. */
  async function showing(page: ConsolePage, text: string, ids: string[]): Promise<void> {
    await page.getByTestId('device-count').filter({ hasText: text }).waitFor();
    if (ids.length === 0) await page.getByText('No device matches the search.').waitFor();
    else assert.deepEqual(await shown(page), ids);
  }

  it('tags, status and versions move devices in and out, with the count', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // Tags: one retagged away leaves; one retagged in is placed by id.
    await page.locator('#fleet-tag').fill('site=north');
    await showing(page, '4 of 4 devices matching', IDS);
    await h.api('PUT', '/devices/dev-b/tags', { tags: { site: 'east' } });
    await showing(page, '3 of 3 devices matching', ['dev-a', 'dev-c', 'dev-d']);
    await page.locator('#fleet-tag').fill('site=east');
    await showing(page, '1 of 1 devices matching', ['dev-b']);
    await h.api('PUT', '/devices/dev-a/tags', { tags: { site: 'east' } });
    await showing(page, '2 of 2 devices matching', ['dev-a', 'dev-b']);

    // Status: a device that comes online joins "online"; gone offline, it leaves.
    await page.locator('#fleet-tag').fill('');
    await page.getByLabel('Status').selectOption('online');
    await showing(page, '0 of 0 devices matching', []);
    const c = await connectDevice(h, 'dev-c');
    clients.push(c);
    await showing(page, '1 of 1 devices matching', ['dev-c']);
    const d = await connectDevice(h, 'dev-d');
    clients.push(d);
    await showing(page, '2 of 2 devices matching', ['dev-c', 'dev-d']);
    await d.endAsync();
    await showing(page, '1 of 1 devices matching', ['dev-c']);

    // Versions: a search for a version finds the device that starts running it and lets go of the one that stops.
    await page.getByLabel('Status').selectOption('');
    await reportState(c, 'dev-c', { m: '2.0.0' });
    await page.locator('#fleet-search').fill('m@2.0.0');
    await showing(page, '1 of 1 devices matching', ['dev-c']);
    const a = await connectDevice(h, 'dev-a');
    clients.push(a);
    await reportState(a, 'dev-a', { m: '2.0.0' });
    await showing(page, '2 of 2 devices matching', ['dev-a', 'dev-c']);
    await reportState(c, 'dev-c', { m: '3.0.0' });
    await showing(page, '1 of 1 devices matching', ['dev-a']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
