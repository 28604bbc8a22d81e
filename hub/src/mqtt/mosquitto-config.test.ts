// mosquitto-config: file formats and argument errors (the files themselves are
// exercised against a real Mosquitto in external.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoConfigCommand, mosquittoPasswordLine } from './mosquitto-config.js';
import { checkDevicePublish, checkDeviceSubscribe, checkDeviceWill } from './acl.js';

function run(argv: string[], devices: Array<{ id: string; secret?: string }> = []) {
  const out: string[] = [];
  const err: string[] = [];
  return mosquittoConfigCommand(argv, { listDevices: () => devices, stdout: (l) => out.push(l), stderr: (l) => err.push(l) }).then((code) => ({ code, out, err }));
}

describe('mosquitto-config', () => {
  it('writes $7$ PBKDF2-SHA512 lines as mosquitto_passwd does', () => {
    const salt = Buffer.alloc(12, 7);
    const line = mosquittoPasswordLine('dev-1', 'pw', salt);
    const expected = pbkdf2Sync('pw', salt, 101, 64, 'sha512').toString('base64');
    assert.equal(line, `dev-1:$7$101$${salt.toString('base64')}$${expected}`);
    assert.throws(() => mosquittoPasswordLine('a:b', 'pw'), /without ':'/);
  });

  it('writes passwd (0600), acl and conf; reports devices without a secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-mcfg-'));
    try {
      const r = await run(['--out', dir, '--hub-user', 'hub', '--hub-password', 'p'], [{ id: 'd1', secret: 's1' }, { id: 'd2' }]);
      assert.equal(r.code, 0, r.err.join('\n'));
      const passwd = readFileSync(join(dir, 'passwd'), 'utf8').trim().split('\n');
      assert.deepEqual(passwd.map((l) => l.split(':')[0]), ['hub', 'd1']);
      assert.equal(statSync(join(dir, 'passwd')).mode & 0o777, 0o600);
      const acl = readFileSync(join(dir, 'acl'), 'utf8');
      assert.match(acl, /^user hub\ntopic readwrite ef\/v1\/#$/m);
      assert.match(acl, /^pattern write ef\/v1\/d\/%u\/state$/m);
      assert.match(acl, /^pattern read ef\/v1\/trust$/m);
      assert.match(readFileSync(join(dir, 'mosquitto.conf'), 'utf8'), /allow_anonymous false/);
      assert.match(r.out.join('\n'), /1 device\(s\) have no secret on record.*d2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with exit 2 and a message naming them', async () => {
    assert.match((await run(['--hub-user', 'h', '--hub-password', 'p'])).err[0]!, /--out DIR is required/);
    assert.equal((await run(['--out', '/tmp/x', '--hub-user', 'h'])).code, 2);
    assert.match((await run(['--out', '/tmp/x', '--hub-user', 'h', '--hub-password', 'p', '--port', 'abc'])).err[0]!, /--port abc: expected a positive integer/);
    assert.match((await run(['--out', '/tmp/x', '--bogus', '1'])).err[0]!, /unknown option --bogus/);
    assert.match((await run(['--out', '/tmp/x', '--hub-user', 'd1', '--hub-password', 'p'], [{ id: 'd1' }])).err[0]!, /collides with a device id/);
  });
});

describe('device ACL', () => {
  const pub = (topic: string, retain = false, bytes = 10) => checkDevicePublish('a', { topic, retain, payloadBytes: bytes }, 100);
  it('allows own device-to-hub topics only', () => {
    for (const k of ['state', 'presence', 'telemetry', 'events', 'blob/get']) assert.equal(pub(`ef/v1/d/a/${k}`), null);
    assert.match(pub('ef/v1/d/b/state')!, /belongs to device b/);
    assert.match(pub('ef/v1/d/a/desired')!, /published by the hub only/);
    assert.match(pub('ef/v1/trust')!, /may publish only/);
    assert.match(pub('ef/v1/d/a/telemetry', true)!, /only state and presence may be retained/);
    assert.match(pub('ef/v1/d/a/state', false, 101)!, /101 bytes .* limit of 100/);
  });
  it('allows exact own hub-to-device topics and trust', () => {
    for (const f of ['ef/v1/d/a/desired', 'ef/v1/d/a/ack', 'ef/v1/d/a/blob/data', 'ef/v1/trust']) assert.equal(checkDeviceSubscribe('a', f), null);
    for (const f of ['#', 'ef/v1/d/+/desired', 'ef/v1/d/a/+', '$SYS/#', 'ef/v1/d/b/desired', 'ef/v1/d/a/state', '$share/g/ef/v1/d/a/desired']) {
      assert.notEqual(checkDeviceSubscribe('a', f), null, f);
    }
  });
  it('allows a will only on its own presence', () => {
    assert.equal(checkDeviceWill('a', { topic: 'ef/v1/d/a/presence', payload: 'x' }, 100), null);
    assert.match(checkDeviceWill('a', { topic: 'ef/v1/d/b/presence', payload: 'x' }, 100)!, /may only target ef\/v1\/d\/a\/presence/);
  });
});
