// mosquitto-config: file formats and argument errors (the files themselves are
// exercised against a real Mosquitto in external.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppError } from '@edgefleet/shared';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { hubServerProgram } from '../server/main.js';
import { appendDevicePassword, checkPasswordFile, mosquittoPasswordLine } from './mosquitto-config.js';
import { checkDevicePublish, checkDeviceSubscribe, checkDeviceWill } from './acl.js';

/** The command as `edgefleet-hub mosquitto-config` runs it, in process, with `devices` as the hub's. */
async function run(argv: string[], devices: Array<{ id: string; secret?: string }> = []) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await dispatch(hubServerProgram({ listDevices: () => devices }), ['mosquitto-config', ...argv], { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date() });
  return { code, out: out.text, err: err.text };
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
      assert.equal(r.code, 0, r.err);
      const passwd = readFileSync(join(dir, 'passwd'), 'utf8').trim().split('\n');
      assert.deepEqual(passwd.map((l) => l.split(':')[0]), ['hub', 'd1']);
      assert.equal(statSync(join(dir, 'passwd')).mode & 0o777, 0o600);
      assert.match(r.out, /^next: chown mosquitto:mosquitto \S+\/passwd && chmod 0660 /m);
      const acl = readFileSync(join(dir, 'acl'), 'utf8');
      assert.match(acl, /^user hub\ntopic readwrite ef\/v1\/#$/m);
      assert.match(acl, /^pattern write ef\/v1\/d\/%u\/state$/m);
      assert.match(acl, /^pattern read ef\/v1\/trust$/m);
      assert.match(acl, /^pattern write ef\/v1\/d\/%u\/capture$/m);
      assert.match(acl, /^pattern read ef\/v1\/d\/%u\/capture\/ack$/m);
      const conf = readFileSync(join(dir, 'mosquitto.conf'), 'utf8');
      assert.match(conf, /allow_anonymous false/);
      // The hub's sessions must not drop telemetry at Mosquitto's default queue of 1,000 messages.
      assert.match(conf, /^max_queued_messages 100000$/m);
      assert.match(conf, /^max_queued_bytes 268435456$/m);
      assert.match(conf, /^max_inflight_messages 100$/m);
      assert.match(r.out, /1 device\(s\) have no secret on record.*d2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rewrites an existing passwd atomically, keeping its owner, group and group access, never others\' access', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-mcfg-'));
    try {
      const file = join(dir, 'passwd');
      writeFileSync(file, 'old:$7$101$x$y\n');
      chmodSync(file, 0o666);
      const before = statSync(file);
      const r = await run(['--out', dir, '--hub-user', 'hub', '--hub-password', 'p'], [{ id: 'd1', secret: 's1' }]);
      assert.equal(r.code, 0, r.err);
      const st = statSync(file);
      assert.equal(st.mode & 0o777, 0o660, 'the password hashes are not left readable by others; the group (mosquitto) keeps its access');
      assert.deepEqual([st.uid, st.gid], [before.uid, before.gid]);
      assert.notEqual(st.ino, before.ino, 'a new file renamed over the old one');
      assert.match(r.out, new RegExp(`^wrote ${file} \\(2 users; mode 0660, owner ${before.uid}:${before.gid} as before\\)`, 'm'));
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':')[0]), ['hub', 'd1']);
      assert.deepEqual(readdirSync(dir).sort(), ['acl', 'mosquitto.conf', 'passwd'], 'no temp file left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends a device only to an existing passwd, naming the file and what it expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-mcfg-'));
    try {
      const file = join(dir, 'passwd');
      assert.throws(() => appendDevicePassword(file, 'd1', 's1'), (e: AppError) => e.code === 'IO_ERROR' && e.message.startsWith(`externalBroker.passwordFile ${file} does not exist: expected the passwd that edgefleet-hub mosquitto-config wrote`));
      assert.throws(() => checkPasswordFile(file), { code: 'CONFIG_INVALID' });
      assert.deepEqual(readdirSync(dir), [], 'no file made that mosquitto could not read');
      writeFileSync(file, 'hub:$7$101$x$y\n');
      appendDevicePassword(file, 'd1', 's1');
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':')[0]), ['hub', 'd1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with exit 2 and a message naming them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--hub-user', 'h', '--hub-password', 'p'], /missing required option --out/],
      [['--out', '/tmp/x', '--hub-user', 'h'], /missing required option --hub-password/],
      [['--out', '/tmp/x', '--hub-user', 'h', '--hub-user', 'g', '--hub-password', 'p'], /2 --hub-user and 1 --hub-password/],
      [['--out', '/tmp/x', '--hub-user', 'h', '--hub-password', 'p', '--port', 'abc'], /--port abc: expected a port from 1 to 65535/],
      // A port of 0 is refused the same way, and beside the other mistakes of the line (no --out here).
      [['--hub-user', 'h', '--hub-password', 'p', '--port', '0'], /missing required option --out; --port 0: expected a port from 1 to 65535/],
      [['--out', '/tmp/x', '--hub-user', 'h', '--hub-password', 'p', '--port', '70000'], /--port 70000: expected a port from 1 to 65535/],
      [['--out', '/tmp/x', '--bogus', '1'], /Unknown option '--bogus'/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /^error \[BAD_REQUEST\]: /);
      assert.match(r.err, re);
    }
    const taken = await run(['--out', '/tmp/x', '--hub-user', 'd1', '--hub-password', 'p'], [{ id: 'd1' }]);
    assert.equal(taken.code, 1);
    assert.match(taken.err, /^error \[CONFLICT\]: --hub-user d1 collides with a device id/);
  });
});

describe('device ACL', () => {
  const pub = (topic: string, retain = false, bytes = 10, qos = 1) => checkDevicePublish('a', { topic, retain, payloadBytes: bytes, qos }, 100);
  it('allows own device-to-hub topics only', () => {
    for (const k of ['state', 'presence', 'telemetry', 'events', 'blob/get', 'capture']) assert.equal(pub(`ef/v1/d/a/${k}`), null);
    assert.match(pub('ef/v1/d/a/capture/ack')!, /published by the hub only/);
    assert.match(pub('ef/v1/d/a/capture', true)!, /only state and presence may be retained/);
    assert.match(pub('ef/v1/d/b/state')!, /belongs to device b/);
    assert.match(pub('ef/v1/d/a/desired')!, /published by the hub only/);
    assert.match(pub('ef/v1/trust')!, /may publish only/);
    assert.match(pub('ef/v1/d/a/telemetry', true)!, /only state and presence may be retained/);
    assert.match(pub('ef/v1/d/a/state', false, 101)!, /101 bytes .* limit of 100/);
    assert.equal(pub('ef/v1/d/a/state', false, 10, 0), null);
    assert.match(pub('ef/v1/d/a/state', false, 10, 2)!, /QoS 2 .* refused: devices publish at QoS 0 or 1/);
  });
  it('allows exact own hub-to-device topics and trust', () => {
    for (const f of ['ef/v1/d/a/desired', 'ef/v1/d/a/ack', 'ef/v1/d/a/blob/data', 'ef/v1/d/a/capture/ack', 'ef/v1/trust']) assert.equal(checkDeviceSubscribe('a', f), null);
    for (const f of ['ef/v1/d/b/capture/ack', 'ef/v1/d/a/capture', '#', 'ef/v1/d/+/desired', 'ef/v1/d/a/+', '$SYS/#', 'ef/v1/d/b/desired', 'ef/v1/d/a/state', '$share/g/ef/v1/d/a/desired']) {
      assert.notEqual(checkDeviceSubscribe('a', f), null, f);
    }
  });
  it('allows a will only on its own presence', () => {
    assert.equal(checkDeviceWill('a', { topic: 'ef/v1/d/a/presence', payload: 'x' }, 100), null);
    assert.match(checkDeviceWill('a', { topic: 'ef/v1/d/b/presence', payload: 'x' }, 100)!, /may only target ef\/v1\/d\/a\/presence/);
  });
});
