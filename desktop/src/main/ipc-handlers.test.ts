import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, ipcHandlers } from './ipc-handlers.js';
import { ProfileStore } from './profiles.js';
import { Notifier } from './notifier.js';

test('main answers only allow-listed channels, from trusted frames, with valid payloads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-ipc-'));
  try {
    const shown: string[] = [];
    const opened: string[] = [];
    const deps = {
      profiles: new ProfileStore(join(dir, 'p.json'), { isEncryptionAvailable: () => true, encryptString: (s: string) => Buffer.from(s).reverse(), decryptString: (b: Buffer) => Buffer.from(b).reverse().toString() }),
      notifier: new Notifier({ show: (t: string) => { shown.push(t); return true; } }),
      openProfile: (n: string) => opened.push(n),
      trustedSender: (url: string) => url.startsWith('https://hub.example/'),
    };
    const h = ipcHandlers(deps);
    const hub = 'https://hub.example/';
    assert.deepEqual(dispatch(h, deps, 'profiles:save', hub, { name: 'prod', address: 'https://hub.example', token: 'efa_12345678' }), { ok: true, reply: { ok: true } });
    assert.deepEqual(dispatch(h, deps, 'profiles:list', hub, {}), { ok: true, reply: { profiles: [{ name: 'prod', address: 'https://hub.example' }] } });
    assert.deepEqual(dispatch(h, deps, 'profiles:open', hub, { name: 'prod' }), { ok: true, reply: { ok: true } });
    assert.deepEqual(opened, ['prod']);
    assert.deepEqual(dispatch(h, deps, 'notify', hub, { title: 'Device offline', body: 'cam-7' }), { ok: true, reply: { shown: true, reason: 'shown' } });
    const refused = (ch: unknown, url: string, payload: unknown) => dispatch(h, deps, ch, url, payload) as { ok: false; error: { code: string; message: string } };
    assert.equal(refused('shell:openExternal', hub, {}).error.code, 'FORBIDDEN');
    assert.match(refused('notify', 'https://evil.example/', { title: 'x', body: '' }).error.message, /refused from https:\/\/evil/);
    assert.equal(refused('profiles:open', hub, { name: 'nope' }).error.code, 'NOT_FOUND');
    assert.equal(refused('profiles:save', hub, { name: 'x', address: 'javascript:alert(1)', token: 'efa_12345678' }).error.code, 'INVALID_INPUT');
    assert.deepEqual(shown, ['Device offline']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
