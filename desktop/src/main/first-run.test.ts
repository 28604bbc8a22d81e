import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_RUN_CHANNELS, HUB_CHANNELS, guardFirstRun, senderAllowed } from './first-run.js';
import { INVOKE_CHANNELS } from '../common/ipc-channels.js';

const FIRST = 'file:///opt/edgefleet/resources/app/dist/first-run/index.html';
const HUBS = ['https://hub.example:8700'];

test('the first-run page may list, save and open profiles, and nothing else', () => {
  for (const ch of INVOKE_CHANNELS) assert.equal(senderAllowed(FIRST, ch, HUBS, FIRST), FIRST_RUN_CHANNELS.has(ch), ch);
  assert.equal(senderAllowed(FIRST, 'notify', HUBS, FIRST), false);
});

test('a saved hub\'s page may call only what the console uses (notify), never a profile channel; other pages nothing', () => {
  assert.deepEqual([...HUB_CHANNELS], ['notify']);
  for (const ch of INVOKE_CHANNELS) assert.equal(senderAllowed('https://hub.example:8700/#/fleet', ch, HUBS, FIRST), ch === 'notify', ch);
  for (const ch of ['profiles:list', 'profiles:save', 'profiles:open'] as const) assert.equal(senderAllowed('https://hub.example:8700/', ch, HUBS, FIRST), false, ch);
  for (const url of ['https://hub.example:8701/', 'http://hub.example:8700/', 'file:///tmp/evil.html', `${FIRST}?x=1`, 'data:text/html,hi', 'about:blank', '']) {
    assert.equal(senderAllowed(url, 'notify', HUBS, FIRST), false, url);
    assert.equal(senderAllowed(url, 'profiles:save', HUBS, FIRST), false, url);
  }
  assert.equal(senderAllowed('https://hub.example:8700/', 'notify', [], FIRST), false, 'no profile: no hub is trusted');
});

test('the first-run window stays on its page and opens no window', () => {
  const on = new Map<string, (e: { preventDefault(): void }, url: string) => void>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  const opened: string[] = [];
  guardFirstRun({
    on: ((ev: string, fn: (e: { preventDefault(): void }, url: string) => void) => { on.set(ev, fn); }) as never,
    setWindowOpenHandler: ((fn: (d: { url: string }) => { action: string }) => { openHandler = fn; }) as never,
  }, FIRST, (u) => opened.push(u));
  const navigate = (url: string) => { let blocked = false; on.get('will-navigate')?.({ preventDefault: () => { blocked = true; } }, url); return blocked; };
  assert.equal(navigate(FIRST), false);
  assert.equal(navigate('https://hub.example:8700/'), true);
  assert.equal(navigate('file:///etc/passwd'), true);
  let attached = false;
  on.get('will-attach-webview')?.({ preventDefault: () => { attached = true; } }, '');
  assert.equal(attached, true);
  assert.deepEqual(openHandler!({ url: 'https://docs.example/' }), { action: 'deny' });
  assert.deepEqual(openHandler!({ url: 'file:///x' }), { action: 'deny' });
  assert.deepEqual(opened, ['https://docs.example/']);
});
