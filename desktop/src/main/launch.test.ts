import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Launcher, linkArg, linkRefusals, type Problem } from './launch.js';
import { Notifier } from './notifier.js';
import { ProfileStore, type SecretCipher } from './profiles.js';

const x = (b: Buffer) => Buffer.from(b.map((c) => c ^ 0x5a));
/** A stand-in for safeStorage whose decryption can be made to fail (a keyring changed or locked). */
function cipher(state: { broken: boolean }): SecretCipher {
  return {
    isEncryptionAvailable: () => true,
    encryptString: (s) => x(Buffer.from(s)),
    decryptString: (b) => { if (state.broken) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.'); return x(b).toString(); },
  };
}

/** A launcher on a store in a temp dir, recording what it asked Electron to open. */
function setup(dir: string) {
  const state = { broken: false };
  const file = join(dir, 'profiles.json');
  const store = new ProfileStore(file, cipher(state));
  const calls: Array<{ window: string; link?: string } | { firstRun: Problem | null } | { refused: string } | { focused: boolean }> = [];
  const open = { any: false };
  const launcher = new Launcher(store, {
    openWindow: (p, link) => calls.push({ window: `${p.name} ${p.token}`, ...(link ? { link: `${link.kind}/${link.id}` } : {}) }),
    openFirstRun: (problem) => calls.push({ firstRun: problem }),
    refuseLink: (message) => calls.push({ refused: message }),
    focusOpen: () => { calls.push({ focused: open.any }); return open.any; },
  });
  return { state, file, store, calls, launcher, open };
}

function inTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ef-launch-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('launch: the first saved hub opens; none opens the first-run page; a deep link opens its profile', () => inTmp((dir) => {
  const { store, calls, launcher } = setup(dir);
  launcher.start(undefined);
  store.save({ name: 'prod', address: 'https://hub.example:8700', token: 'efa_prod-token' });
  store.save({ name: 'lab', address: 'http://127.0.0.1:8700', token: 'efa_lab-token' });
  launcher.start(undefined);
  launcher.start('edgefleet://device/cam-7?profile=lab');
  launcher.link('https://evil.example/');
  assert.deepEqual(calls.slice(0, 3), [{ firstRun: null }, { window: 'prod efa_prod-token' }, { window: 'lab efa_lab-token', link: 'device/cam-7' }]);
  assert.match((calls[3] as { refused: string }).refused, /deep link .*scheme https:/);
}));

test('launch: a second start brings an open window to the front, opens its link (scheme in any case), or starts as a first one', () => inTmp((dir) => {
  const { store, calls, launcher, open } = setup(dir);
  store.save({ name: 'lab', address: 'http://127.0.0.1:8700', token: 'efa_lab-token' });
  assert.equal(linkArg(['/opt/edgefleet/edgefleet', '--no-sandbox', 'EDGEFLEET://device/cam-7']), 'EDGEFLEET://device/cam-7');
  launcher.again(['/opt/edgefleet/edgefleet']);
  open.any = true;
  launcher.again(['/opt/edgefleet/edgefleet', '--flag']);
  launcher.again(['/opt/edgefleet/edgefleet', 'Edgefleet://device/cam-7?profile=lab']);
  assert.deepEqual(calls, [
    { focused: false }, { window: 'lab efa_lab-token' },
    { focused: true },
    { window: 'lab efa_lab-token', link: 'device/cam-7' },
  ]);
}));

test('launch: a corrupt profiles.json opens the first-run page with CONFIG_INVALID naming the file, kept aside', () => inTmp((dir) => {
  const { file, calls, launcher } = setup(dir);
  writeFileSync(file, '{"schema": "edgefleet.desktop-profiles/v1", "profiles": [{"na');
  assert.deepEqual(launcher.names(), [], 'the menu lists nothing rather than throwing');
  launcher.start('edgefleet://device/cam-7', new Date(Date.UTC(2025, 5, 1)));
  assert.equal(calls.length, 1, JSON.stringify(calls));
  const p = (calls[0] as { firstRun: Problem }).firstRun;
  assert.equal(p.code, 'CONFIG_INVALID');
  assert.match(p.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not an edgefleet profiles file \\(not JSON`));
  assert.match(p.message, /kept as .*profiles\.json\.unreadable-2025-06-01T00-00-00-000Z; the saved hubs in it are not loaded: add them again$/);
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(dir), ['profiles.json.unreadable-2025-06-01T00-00-00-000Z']);
}));

test('launch: a token that does not decrypt opens the first-run page naming the profile, at start and from the menu', () => inTmp((dir) => {
  const { state, store, calls, launcher } = setup(dir);
  store.save({ name: 'prod', address: 'https://hub.example:8700', token: 'efa_prod-token' });
  store.save({ name: 'lab', address: 'http://127.0.0.1:8700', token: 'efa_lab-token' });
  state.broken = true;
  launcher.start(undefined);
  assert.equal(launcher.open('lab'), false, 'the menu\'s click: no throw into the main process');
  assert.equal(launcher.open('gone'), false);
  state.broken = false;
  assert.equal(launcher.open('lab'), true);
  const problems = calls.slice(0, 3).map((c) => (c as { firstRun: Problem }).firstRun);
  assert.deepEqual(problems.map((p) => p.code), ['DECRYPT_FAILED', 'DECRYPT_FAILED', 'NOT_FOUND']);
  assert.match(problems[0]!.message, /^hub profile "prod" \(https:\/\/hub\.example:8700\): its token could not be decrypted/);
  assert.match(problems[1]!.message, /^hub profile "lab" .*add the hub again under the name "lab" to replace it$/);
  assert.equal(problems[2]!.message, 'no hub profile "gone"');
  assert.deepEqual(calls[3], { window: 'lab efa_lab-token' });
  assert.deepEqual(launcher.names(), ['prod', 'lab'], 'both stay in the menu');
}));

test('launch: a flood of refused deep links shows at most the notifier\'s rate, the rest counted', () => inTmp((dir) => {
  const shown: string[] = [];
  let t = 0;
  const notifier = new Notifier({ show: (title, body) => { shown.push(`${title}|${body}`); return true; } }, () => t);
  const launcher = new Launcher(new ProfileStore(join(dir, 'profiles.json'), cipher({ broken: false })), {
    openWindow: () => assert.fail('no window for a refused link'),
    openFirstRun: () => assert.fail('no first-run page for a refused link'),
    refuseLink: linkRefusals(notifier),
    focusOpen: () => assert.fail('no focus for a refused link'),
  });
  for (let i = 0; i < 500; i++) launcher.link(`edgefleet://nope/${i}`);
  assert.equal(shown.length, 5);
  assert.match(shown[0]!, /^edgefleet: link refused\|deep link "edgefleet:\/\/nope\/0": unknown target "nope"/);
  t += 60_000;
  launcher.link('javascript:alert(1)');
  assert.equal(shown.length, 6);
  assert.match(shown[5]!, /scheme javascript:.*\n\(and 495 more not shown: see the console\)$/s);
}));

test('launch: a console that did not load opens the first-run page saying which hub and why', () => inTmp((dir) => {
  const { calls, launcher } = setup(dir);
  launcher.loadFailed({ name: 'lab', address: 'http://127.0.0.1:9' }, 'ERR_CONNECTION_REFUSED', -102);
  const p = (calls[0] as { firstRun: Problem }).firstRun;
  assert.equal(p.code, 'IO_ERROR');
  assert.match(p.message, /^hub profile "lab": the console at http:\/\/127\.0\.0\.1:9 did not load \(ERR_CONNECTION_REFUSED, -102\): check that the hub is running/);
}));
