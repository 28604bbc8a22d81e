// Mosquitto's password file set up as docs/mqtt.md "Who owns passwd" says, with the real Mosquitto
// started as root (it drops to the mosquitto user and reads the file as that user) and the hub's appends
// made as another user in the mosquitto group (a child process under setpriv, as the unit's User= runs
// the hub). The instruction the docs gave before (`chown mosquitto:`, mode 0600) lets Mosquitto read the
// file but refuses the hub (EACCES, named by the hub's start check and by the append); with mode 0660 the
// hub appends, Mosquitto takes the new device after a reload, and `mosquitto-config` run again keeps the
// file's owner, group and mode, so both still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { programArgv, waitFor } from '@edgefleet/examples';
import { MOSQUITTO, startMosquitto } from './testing/mosquitto.js';
import { connectDevice } from './testing/devices.js';

/** The mosquitto user's uid and gid, from /etc/passwd (the Debian package creates it). */
const mosq = /^mosquitto:[^:]*:(\d+):(\d+):/m.exec(existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '');
const skip = !existsSync(MOSQUITTO) ? `${MOSQUITTO} not installed (apt-get install -y mosquitto)`
  : process.getuid?.() !== 0 ? 'needs root: Mosquitto must drop to its own user, and the hub run as another'
    : !mosq ? 'no mosquitto user' : spawnSync('setpriv', ['--version']).status !== 0 ? 'no setpriv' : false;
const HUB_UID = 65534; // the hub's service user (nobody here)

type Outcome = { ok: boolean; code?: string; message?: string };

/** As the hub's user in the mosquitto group: checkPasswordFile (the hub's start), then appendDevicePassword (an enrollment). */
function asHubUser(file: string, device: { id: string; secret: string }): { start: Outcome; append: Outcome } {
  const argv = programArgv('hub/src/mqtt/mosquitto-config.ts');
  const module = pathToFileURL(argv.pop() as string).href;
  const code = `const m = await import(${JSON.stringify(module)});
    const outcome = (f) => { try { f(); return { ok: true }; } catch (e) { return { ok: false, code: e.code, message: e.message }; } };
    const [file, id, secret] = process.argv.slice(1);
    console.log(JSON.stringify({ start: outcome(() => m.checkPasswordFile(file)), append: outcome(() => m.appendDevicePassword(file, id, secret)) }));`;
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync('setpriv', ['--reuid', String(HUB_UID), '--regid', String(HUB_UID), '--groups', mosq?.[2] ?? '', process.execPath, ...argv, '--input-type=module', '-e', code, file, device.id, device.secret], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { start: Outcome; append: Outcome };
}

const connects = (url: string, id: string, secret: string) =>
  waitFor(`mosquitto accepting ${id}`, () => connectDevice(url, id, secret).then(async (c) => { await c.endAsync(); return true; }).catch(() => undefined), { timeoutMs: 15_000, intervalMs: 50 });

test('passwd owned by mosquitto, group mosquitto, 0660: the hub appends as a group member, Mosquitto reads it, a rewrite keeps it so', { skip }, async () => {
  const [uid, gid] = [Number(mosq?.[1]), Number(mosq?.[2])];
  // As the docs had it: `chown mosquitto: passwd` (the file is 0600). Mosquitto, dropped to its user, starts.
  const broker = await startMosquitto([{ id: 'box-0', secret: 'secret-0' }], undefined, undefined, [], ['user mosquitto'], (dir) => {
    chmodSync(dir, 0o755);
    chownSync(join(dir, 'passwd'), uid, gid);
  });
  try {
    const file = broker.passwordFile;
    await connects(broker.url, 'box-0', 'secret-0');
    // ... but the hub's user cannot append: refused at the hub's start, and by an enrollment's append.
    const refused = asHubUser(file, { id: 'box-1', secret: 'secret-1' });
    assert.equal(refused.start.code, 'CONFIG_INVALID', JSON.stringify(refused));
    assert.match(refused.start.message ?? '', new RegExp(`^externalBroker\\.passwordFile ${file} cannot be written by this user \\(uid ${HUB_UID}\\): EACCES: expected .*owner and group mosquitto, mode 0660, with the hub's user in the mosquitto group`));
    assert.equal(refused.append.code, 'IO_ERROR', JSON.stringify(refused));
    assert.doesNotMatch(readFileSync(file, 'utf8'), /^box-1:/m);

    // As the docs say now: mode 0660, the hub's user in the mosquitto group.
    chmodSync(file, 0o660);
    assert.deepEqual(asHubUser(file, { id: 'box-1', secret: 'secret-1' }), { start: { ok: true }, append: { ok: true } });
    broker.reload();
    await connects(broker.url, 'box-1', 'secret-1');

    // mosquitto-config again (as root, from the hub's database): the new file keeps owner, group and mode.
    await broker.regenerate([{ id: 'box-0', secret: 'secret-0' }, { id: 'box-2', secret: 'secret-2' }]);
    const st = statSync(file);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [uid, gid, 0o660]);
    assert.deepEqual(asHubUser(file, { id: 'box-3', secret: 'secret-3' }).append, { ok: true });
    broker.reload();
    await connects(broker.url, 'box-2', 'secret-2');
    await connects(broker.url, 'box-3', 'secret-3');
  } finally {
    await broker.stop();
  }
});
