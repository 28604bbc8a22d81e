import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared';
import { dispatch, ipcHandlers } from './ipc-handlers.js';
import { ProfileStore } from './profiles.js';
import { Notifier } from './notifier.js';
import { senderAllowed } from './first-run.js';
import type { InvokeChannel } from '../common/ipc-channels.js';

const FIRST = 'file:///opt/edgefleet/resources/app/dist/first-run/index.html';
type Refused = { ok: false; error: { code: string; message: string } };

/** main.ts's wiring with the real sender rules (main/first-run.ts), a stand-in cipher and notification port. */
function setup(dir: string) {
  const shown: Array<{ title: string; body: string }> = [];
  const opened: string[] = [];
  const checked: string[] = [];
  const profiles = new ProfileStore(join(dir, 'p.json'), { isEncryptionAvailable: () => true, encryptString: (s: string) => Buffer.from(s).reverse(), decryptString: (b: Buffer) => Buffer.from(b).reverse().toString() });
  const deps = {
    profiles,
    notifier: new Notifier({ show: (title: string, body: string) => { shown.push({ title, body }); return true; } }),
    openProfile: (n: string) => opened.push(n),
    // The hub's answer to the check (main/hub-check.ts, tested on real sockets there): refused for one address.
    checkHub: (address: string) => {
      checked.push(address);
      return address.includes('refuses') ? Promise.reject(new AppError('UNAUTHENTICATED', `the hub at ${address} refused the token`)) : Promise.resolve();
    },
    trustedSender: (url: string, ch: InvokeChannel) => senderAllowed(url, ch, profiles.list().map((p) => new URL(p.address).origin), FIRST),
  };
  const h = ipcHandlers(deps);
  const call = (ch: unknown, url: string, payload: unknown) => dispatch(h, deps, ch, url, payload);
  return { profiles, shown, opened, checked, call, refused: async (ch: unknown, url: string, payload: unknown) => ((await call(ch, url, payload)) as Refused).error };
}

async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-ipc-'));
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('the first-run page saves, lists and opens profiles; it may not notify', () => inTmp(async (dir) => {
  const { call, refused, opened, shown } = setup(dir);
  assert.deepEqual((await call('profiles:save', FIRST, { name: 'prod', address: 'https://hub.example', token: 'efa_12345678' })), { ok: true, reply: { ok: true } });
  assert.deepEqual((await call('profiles:list', FIRST, {})), { ok: true, reply: { profiles: [{ name: 'prod', address: 'https://hub.example' }] } });
  assert.deepEqual((await call('profiles:open', FIRST, { name: 'prod' })), { ok: true, reply: { ok: true } });
  assert.deepEqual(opened, ['prod']);
  assert.equal((await refused('profiles:open', FIRST, { name: 'nope' })).code, 'NOT_FOUND');
  assert.equal((await refused('profiles:save', FIRST, { name: 'x', address: 'javascript:alert(1)', token: 'efa_12345678' })).code, 'INVALID_INPUT');
  assert.equal((await refused('notify', FIRST, { title: 'x', body: '' })).code, 'FORBIDDEN');
  assert.deepEqual(shown, []);
}));

test('a saved hub\'s page may notify, and may not read, replace, open or remove any hub profile', () => inTmp(async (dir) => {
  const { profiles, call, refused, opened, shown } = setup(dir);
  for (const [name, address] of [['prod', 'https://prod.example:8700'], ['staging', 'http://staging.example:8700']] as const) {
    assert.equal((await call('profiles:save', FIRST, { name, address, token: `efa_${name}-token` })).ok, true);
  }
  const staging = 'http://staging.example:8700/#/alerts';
  assert.deepEqual((await call('notify', staging, { title: 'Device offline', body: 'cam-7' })), { ok: true, reply: { shown: true, reason: 'shown' } });
  const attempts: Array<[string, unknown]> = [
    ['profiles:list', {}],
    ['profiles:save', { name: 'prod', address: 'https://attacker.example', token: 'efa_attacker' }],
    ['profiles:save', { name: 'evil', address: 'https://attacker.example', token: 'efa_attacker' }],
    ['profiles:open', { name: 'prod' }],
    ['profiles:remove', { name: 'staging' }],
  ];
  for (const [ch, payload] of attempts) {
    const e = (await refused(ch, staging, payload));
    assert.equal(e.code, 'FORBIDDEN', `${ch}: ${e.message}`);
  }
  assert.match((await refused('profiles:save', staging, attempts[1]![1])).message, /ipc profiles:save: refused from http:\/\/staging\.example:8700/);
  assert.deepEqual(profiles.list(), [{ name: 'prod', address: 'https://prod.example:8700' }, { name: 'staging', address: 'http://staging.example:8700' }], 'no profile changed');
  assert.equal(profiles.open('prod').token, 'efa_prod-token');
  assert.deepEqual(opened, []);
  assert.equal((await refused('notify', 'https://evil.example/', { title: 'x', body: '' })).code, 'FORBIDDEN', 'an origin without a profile');
  assert.equal((await refused('shell:openExternal', staging, {})).code, 'FORBIDDEN');
  assert.deepEqual(shown.map((s) => s.title), ['Device offline']);
}));

test('notification keys are per hub: alert 3 of two hubs open at once are both shown, each once', () => inTmp(async (dir) => {
  const { call, shown } = setup(dir);
  for (const [name, address] of [['prod', 'https://prod.example:8700'], ['staging', 'http://staging.example:8700']] as const) {
    assert.equal((await call('profiles:save', FIRST, { name, address, token: `efa_${name}-token` })).ok, true);
  }
  const note = (title: string) => ({ title, body: 'drift.psi on site=north: 0.4 (threshold 0.2)', key: 'alert:3', link: '#/alerts/3' });
  assert.deepEqual((await call('notify', 'http://staging.example:8700/#/alerts', note('Alert: staging drift'))), { ok: true, reply: { shown: true, reason: 'shown' } });
  assert.deepEqual((await call('notify', 'https://prod.example:8700/#/fleet', note('Critical: prod drift'))), { ok: true, reply: { shown: true, reason: 'shown' } });
  // The same hub in another window (or the same page asking again): a duplicate.
  assert.deepEqual((await call('notify', 'https://prod.example:8700/#/alerts/3', note('Critical: prod drift'))), { ok: true, reply: { shown: false, reason: 'duplicate' } });
  assert.deepEqual(shown.map((s) => s.title), ['Alert: staging drift', 'Critical: prod drift']);
}));

test('a profile is saved only when its hub accepted the token: a refusal crosses as code and message, nothing saved', () => inTmp(async (dir) => {
  const { profiles, call, checked } = setup(dir);
  const r = await call('profiles:save', FIRST, { name: 'prod', address: 'https://refuses.example', token: 'efa_12345678' });
  assert.deepEqual(r, { ok: false, error: { code: 'UNAUTHENTICATED', message: 'the hub at https://refuses.example refused the token' } });
  assert.deepEqual(profiles.list(), []);
  assert.equal((await call('profiles:save', FIRST, { name: 'prod', address: 'https://hub.example', token: 'efa_12345678' })).ok, true);
  assert.deepEqual(checked, ['https://refuses.example', 'https://hub.example']);
  assert.deepEqual(profiles.list(), [{ name: 'prod', address: 'https://hub.example' }]);
}));
