import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Notifier } from './notifier.js';
import { dispatch, ipcHandlers } from './ipc-handlers.js';
import { ProfileStore } from './profiles.js';

function setup(limits = { max: 5, windowMs: 60_000, maxKeys: 1000 }) {
  let now = 1_000_000;
  const shown: Array<{ title: string; body: string; click: () => void }> = [];
  const n = new Notifier({ show: (title, body, click) => { shown.push({ title, body, click }); return true; } }, () => now, limits);
  return { n, shown, advance: (ms: number) => { now += ms; } };
}

test('a key is shown once; a click opens the request\'s link', () => {
  const { n, shown } = setup();
  const opened: Array<string | undefined> = [];
  const open = (l: string | undefined) => opened.push(l);
  assert.equal(n.notify({ title: 'Alert: psi', body: 'drift', key: 'alert:1', link: '#/alerts/1' }, open), 'shown');
  assert.equal(n.notify({ title: 'Alert: psi', body: 'drift', key: 'alert:1', link: '#/alerts/1' }, open), 'duplicate');
  assert.equal(n.notify({ title: 'Alert: other', body: 'x', key: 'alert:2' }, open), 'shown');
  assert.equal(shown.length, 2);
  shown[0]?.click();
  shown[1]?.click();
  assert.deepEqual(opened, ['#/alerts/1', undefined]);
});

test('a storm is bounded: at most max per window, then the next one says how many were held back', () => {
  const { n, shown, advance } = setup({ max: 3, windowMs: 60_000, maxKeys: 1000 });
  const verdicts = Array.from({ length: 200 }, (_, i) => n.notify({ title: `Alert ${i}`, body: 'b', key: `alert:${i}` }, () => undefined));
  assert.deepEqual(verdicts.slice(0, 3), ['shown', 'shown', 'shown']);
  assert.equal(verdicts.filter((v) => v === 'rate_limited').length, 197);
  assert.equal(shown.length, 3);
  advance(59_999);
  assert.equal(n.notify({ title: 'still limited', body: 'b', key: 'late' }, () => undefined), 'rate_limited');
  advance(1);
  assert.equal(n.notify({ title: 'after', body: 'next', key: 'after' }, () => undefined), 'shown');
  assert.match(shown[3]?.body ?? '', /^next\n\(and 198 more not shown: see the console\)$/);
  assert.equal(n.notify({ title: 'again', body: 'plain', key: 'again' }, () => undefined), 'shown');
  assert.equal(shown[4]?.body, 'plain', 'the count is said once');
});

test('remembered keys are bounded; the oldest is forgotten first', () => {
  const { n } = setup({ max: 1_000_000, windowMs: 1, maxKeys: 100 });
  for (let i = 0; i < 250; i++) n.notify({ title: 't', body: 'b', key: `k${i}` }, () => undefined);
  assert.equal(n.rememberedKeys, 100);
  assert.equal(n.notify({ title: 't', body: 'b', key: 'k249' }, () => undefined), 'duplicate');
  assert.equal(n.notify({ title: 't', body: 'b', key: 'k0' }, () => undefined), 'shown');
});

test('no OS notifications: unsupported, and nothing counts against the limit', () => {
  const n = new Notifier({ show: () => false }, () => 0, { max: 1, windowMs: 60_000, maxKeys: 10 });
  assert.equal(n.notify({ title: 't', body: 'b' }, () => undefined), 'unsupported');
  assert.equal(n.notify({ title: 't', body: 'b' }, () => undefined), 'unsupported');
});

test('the notify channel validates its payload and focuses the sender on click', async () => {
  const shown: Array<() => void> = [];
  const focused: Array<string | undefined> = [];
  const deps = {
    profiles: new ProfileStore('/nonexistent/p.json', { isEncryptionAvailable: () => false, encryptString: () => Buffer.alloc(0), decryptString: () => '' }),
    notifier: new Notifier({ show: (_t, _b, click) => { shown.push(click); return true; } }),
    openProfile: () => undefined,
    checkHub: () => Promise.resolve(),
    trustedSender: () => true,
  };
  const h = ipcHandlers(deps);
  const call = (payload: unknown) => dispatch(h, deps, 'notify', 'https://hub.example/', payload, (l) => focused.push(l));
  assert.deepEqual(await call({ title: 'Alert: x', body: 'y', key: 'alert:9', link: '#/alerts/9' }), { ok: true, reply: { shown: true, reason: 'shown' } });
  assert.deepEqual(await call({ title: 'Alert: x', body: 'y', key: 'alert:9', link: '#/alerts/9' }), { ok: true, reply: { shown: false, reason: 'duplicate' } });
  shown[0]?.();
  assert.deepEqual(focused, ['#/alerts/9']);
  const bad = async (payload: unknown) => ((await call(payload)) as { ok: false; error: { code: string; message: string } }).error;
  assert.match((await bad({ title: 'x', body: 'y', link: 'https://evil.example/' })).message, /ipc notify: link: expected a console view/);
  assert.match((await bad({ title: 'x', body: 'y', link: '#/a"><script>' })).message, /link/);
  assert.match((await bad({ title: '', body: 'y' })).message, /title/);
  assert.match((await bad({ title: 'x'.repeat(121), body: 'y' })).message, /title/);
  assert.match((await bad({ title: 'x', body: 'y', key: 'k'.repeat(201) })).message, /key/);
  assert.match((await bad({ title: 'x', body: 'y', sound: 'loud' })).message, /unrecognized|sound/i);
  assert.equal(shown.length, 1);
});
