// Real `edgefleet-hub run` processes started at the same moment on one new data dir (several hubs on
// SQLite, docs/operations.md "Several hubs", or a restart overlapping the old process): no hub has to be
// started first. Without --hub-key each makes DATA/hub.key, and every one names the same key, the one in
// the file and in DATA/hub.pub, when it refuses to go on without a trust document. With a key and
// trust (cluster mode, behind one real Mosquitto) both serve; the admin token in DATA/admin.token is
// printed by one of them and works on both, and the hub holds one API token. So that the hubs really
// collide, a preload (BARRIER) holds each one as it puts a racing file in place (link or rename onto
// the name) until all of them are there; the test checks they all were. hub.db is one of them: each hub builds a
// whole one under its own name and links it (docs/decisions/0151-agent-db-made-whole-before-named.md "The hub too"),
// the first link wins and the others open that file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, runCli, startProcess, type RunningProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { readPublicKeyFile, readSecretKeyFile } from '@edgefleet/shared';
import { MOSQUITTO, startMosquitto } from '../mqtt/testing/mosquitto.js';
import { KEYSTORE_FILE } from '../sealing/keystore.js';
import { ADMIN_TOKEN_FILE, HUB_KEY_FILE, HUB_PUB_FILE } from './first-start.js';

const skip = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed (apt-get install -y mosquitto)`;
const HUB = 'hub/src/server/main.ts';

// Wraps fs.linkSync and fs.renameSync (ESM named imports too: syncBuiltinESMExports): putting a file
// named in EF_BARRIER_FILES in place first waits (at most 20 s) until EF_BARRIER_N processes are there.
const BARRIER = `data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const dir = process.env.EF_BARRIER_DIR, n = Number(process.env.EF_BARRIER_N), names = process.env.EF_BARRIER_FILES.split(',');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function barrier(name) {
  fs.writeFileSync(dir + '/' + name + '-' + process.pid, '');
  const deadline = Date.now() + 20000;
  while (fs.readdirSync(dir).filter((f) => f.startsWith(name + '-')).length < n && Date.now() < deadline) sleep(5);
}
for (const fn of ['linkSync', 'renameSync']) {
  const orig = fs[fn];
  fs[fn] = (from, to) => {
    const name = names.find((x) => String(to).endsWith('/' + x));
    if (name) barrier(name);
    return orig(from, to);
  };
}
syncBuiltinESMExports();
`)}`;

/** Spawn options that hold `n` hubs at the barrier for `files`; arrivals are recorded in `dir`. */
function barrier(dir: string, n: number, files: string[]) {
  mkdirSync(dir, { recursive: true });
  return { nodeArgs: ['--import', BARRIER], env: { EF_BARRIER_DIR: dir, EF_BARRIER_N: String(n), EF_BARRIER_FILES: files.join(',') } };
}

/** How many processes arrived at the barrier for each file. */
const arrivals = (dir: string, files: string[]) => files.map((f) => readdirSync(dir).filter((a) => a.startsWith(`${f}-`)).length);

/** A hub config file for cluster mode on `url` (every transaction on the shared hub.db begins IMMEDIATE). */
function clusterConfig(dir: string, name: string, url: string, passwordFile?: string): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    externalBroker: { url, username: name, password: `${name}-password`, ...(passwordFile ? { passwordFile } : {}) },
    cluster: { hubId: name },
  }));
  return file;
}

test('three hubs making DATA/hub.key at once all name the one key in the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubs-key-'));
  try {
    const data = join(dir, 'data');
    const files = [HUB_KEY_FILE, KEYSTORE_FILE, 'hub.db'];
    const held = barrier(join(dir, 'barrier'), 3, files);
    // The broker is never reached: each hub stops for want of a trust document, after making DATA/hub.key for
    // one (a --trust that does not list the key is refused before anything is made: start-refusals-process.test.ts).
    const runs = await Promise.all(['hub-1', 'hub-2', 'hub-3'].map((name) => runCli(HUB, [
      'run', '--data-dir', data, '--config', clusterConfig(dir, name, 'mqtt://127.0.0.1:1'),
      '--http-port', '0', '--log-level', 'warn',
    ], held)));
    assert.deepEqual(arrivals(held.env.EF_BARRIER_DIR, files), [3, 3, 3], 'all three hubs were making each file at once');
    const key = await readSecretKeyFile(join(data, HUB_KEY_FILE));
    assert.equal((await readPublicKeyFile(join(data, HUB_PUB_FILE))).keyId, key.keyId);
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`no trust document: the hub needs a trust.json whose hub role includes its key ${key.keyId.slice(0, 16)}…`));
    }
    assert.deepEqual(readdirSync(data).filter((f) => f.includes('.tmp-') || f.startsWith('hub.db.new-')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two hubs starting at once on a new data dir: both serve, one admin token that works on both', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubs-token-'));
  const users = [{ user: 'hub-1', password: 'hub-1-password' }, { user: 'hub-2', password: 'hub-2-password' }];
  const mosq = await startMosquitto([], users[0], 64 * 1024, users.slice(1));
  const hubs: RunningProcess[] = [];
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    const files = [KEYSTORE_FILE, ADMIN_TOKEN_FILE, 'hub.db'];
    const held = barrier(join(dir, 'barrier'), 2, files);
    for (const u of users) {
      hubs.push(startProcess(HUB, [
        'run', '--data-dir', data, '--config', clusterConfig(dir, u.user, mosq.url, mosq.passwordFile), '--trust', trust.path,
        '--hub-key', keys.files.hub.keyPath, '--http-port', '0', '--log-level', 'info',
      ], held));
    }
    const ready = await Promise.all(hubs.map(async (h) => JSON.parse(await h.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string }));
    assert.deepEqual(arrivals(held.env.EF_BARRIER_DIR, files), [2, 2, 2], 'both hubs were making each file at once');
    const token = readFileSync(join(data, ADMIN_TOKEN_FILE), 'utf8').trim();
    // The token is printed once start() returns, just after "hub ready" is logged.
    const printedBy = () => hubs.map((h) => h.output().stdout.split('\n').filter((l) => l.startsWith('admin token')));
    await waitFor('a hub printed the admin token', () => printedBy().some((p) => p.length > 0), { timeoutMs: 10_000, intervalMs: 20 });
    const printed = printedBy();
    assert.deepEqual(printed.map((p) => p.length).sort(), [0, 1], 'printed once, by the hub that stored it');
    assert.ok(printed.flat()[0]?.endsWith(`: ${token}`));
    for (const r of ready) {
      const res = await fetch(`${r.http}/api/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      assert.equal(res.status, 200, `${r.http}: ${text}`);
      const body = JSON.parse(text) as { tokens: Array<{ name: string; role: string }> };
      assert.deepEqual(body.tokens.map((t) => [t.name, t.role]), [['admin', 'admin']]);
    }
  } finally {
    const stopped = await Promise.all(hubs.map((h) => h.stop('SIGTERM', 20_000)));
    await mosq.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(stopped.map((s) => s.code), hubs.map(() => 0), JSON.stringify(stopped) + hubs.map((h) => h.output().stderr.slice(-6000) + h.output().stdout.slice(-12000)).join('\n----\n'));
  }
});
