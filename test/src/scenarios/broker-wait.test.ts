// The real `edgefleet-hub run` with an external Mosquitto that is down when it starts (docs/mqtt.md
// "External broker", externalBroker.waitMs): the hub waits for it and is ready once it is up; one that
// never comes fails the start after the wait with IO_ERROR naming it; SIGTERM during the wait stops the
// hub at once with exit 0. Before, the start failed at once, and systemd's restart limit soon gave up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, startProcess, type Keys, type Trust } from '@edgefleet/examples';
import { MOSQUITTO, startMosquitto } from '@edgefleet/hub';

const skip = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed (apt-get install -y mosquitto)`;

describe('edgefleet-hub run with an external broker that is down at start', { skip }, () => {
  let dir: string;
  let keys: Keys;
  let trust: Trust;
  let mosq: Awaited<ReturnType<typeof startMosquitto>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-broker-wait-'));
    keys = makeKeys(join(dir, 'keys'));
    trust = makeTrust(join(dir, 'trust'), keys);
    mosq = await startMosquitto([]);
  });
  after(async () => {
    await mosq?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The hub on `name`'s data dir with the broker down, once it logged that it waits. */
  async function waitingHub(name: string, waitMs: number) {
    await mosq.down();
    const config = join(dir, `${name}.json`);
    writeFileSync(config, JSON.stringify({ externalBroker: { url: mosq.url, username: mosq.hub.user, password: mosq.hub.password, waitMs } }));
    const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, name), '--config', config, '--http-port', '0',
      '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
    await hub.waitForLine(new RegExp(`broker mqtt://127\\.0\\.0\\.1:\\d+ cannot be reached yet: waiting up to ${waitMs / 1000} s`), 30_000);
    return hub;
  }

  it('a broker that comes up 3 s later: the hub waits for it and starts', async () => {
    const hub = await waitingHub('comes-up', 60_000);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      await mosq.up();
      await hub.waitForLine(/"msg":"hub ready"/, 30_000);
      assert.match(hub.output().stdout, /"msg":"connected to the external MQTT broker"/);
      assert.equal((await hub.stop()).code, 0);
    } finally {
      hub.kill();
    }
  });

  it('a broker that never comes: exit 1 after the wait, naming the broker', async () => {
    const hub = await waitingHub('never', 2000);
    try {
      const end = await hub.exited;
      assert.equal(end.code, 1, hub.output().stderr);
      assert.match(hub.output().stderr, /^error \[IO_ERROR\]: cannot connect to the external MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ as hub-1: connect ECONNREFUSED .*; tried again every second for \d s \(externalBroker\.waitMs 2000\)$/m);
    } finally {
      hub.kill();
    }
  });

  it('SIGTERM during the wait: the hub stops at once with exit 0', async () => {
    const hub = await waitingHub('sigterm', 60_000);
    try {
      const t0 = Date.now();
      const end = await hub.stop('SIGTERM');
      assert.deepEqual(end, { code: 0, signal: null }, hub.output().stderr);
      assert.ok(Date.now() - t0 < 3000, `exited after ${Date.now() - t0} ms`);
      assert.match(hub.output().stdout, /"msg":"hub stopped"/);
    } finally {
      hub.kill();
    }
  });
});
