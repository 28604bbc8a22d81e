// Liveness and readiness of a whole hub (docs/hub.md "Health and readiness"): GET /api/v1/health stays
// 200 and says what is down; GET /api/v1/ready answers 503 naming the database (PostgreSQL stopped) or
// the broker link (an external Mosquitto stopped) and since when, and 200 again once it is back. Real
// parts: a SQLite hub with its embedded broker, a private PostgreSQL cluster, a Mosquitto.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger, type LoggerPort } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';
import { MOSQUITTO, startMosquitto } from '../mqtt/testing/mosquitto.js';
import { startPostgres, type PgCluster } from '../testing/postgres.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('readiness', () => {
  interface Dep { ok: boolean; since?: string; error?: string }
  interface Answer { status: number; body: { ok?: boolean; ready?: boolean; time?: string; database?: Dep; broker?: Dep; error?: { code: string; message: string; details?: { database: Dep; broker: Dep } } } }

  const skipMosquitto = existsSync(MOSQUITTO) ? false : `${MOSQUITTO} not installed (apt-get install -y mosquitto)`;
  // Renewals (the database's check) every 200 ms, so a stopped server is seen within a fraction of a second.
  const FAST_LEASE = { cluster: { enabled: false, leaseTtlMs: 1500, renewEveryMs: 200 } };

  let dir: string;
  let fx: Awaited<ReturnType<typeof makeFixture>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-ready-'));
    fx = await makeFixture(join(dir, 'fx'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function startHub(name: string, more: Record<string, unknown>, logger: LoggerPort = noopLogger): Promise<{ hub: Hub; http: string; get(path: string): Promise<Answer> }> {
    const hub = new Hub(HubConfig.parse({
      dataDir: join(dir, name), httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent', ...FAST_LEASE, ...more,
    }), logger, systemClock);
    const { http } = await hub.start();
    const get = async (path: string): Promise<Answer> => {
      const r = await fetch(`${http}/api/v1${path}`);
      return { status: r.status, body: (await r.json()) as Answer['body'] };
    };
    return { hub, http, get };
  }

  /** /ready's answer once `pred` holds for it (polled every 50 ms). */
  const readyWhen = (get: (path: string) => Promise<Answer>, what: string, pred: (a: Answer) => boolean) =>
    waitFor(what, async () => {
      const a = await get('/ready');
      return pred(a) ? a : undefined;
    }, { timeoutMs: 15_000, intervalMs: 50 });

  /** A gauge on the hub's /metrics. */
  const gauge = async (http: string, name: string) => Number(new RegExp(`^${name} (\\d)$`, 'm').exec(await (await fetch(`${http}/metrics`)).text())?.[1]);
  const databaseUp = (http: string) => gauge(http, 'edgefleet_hub_database_up');

  it('SQLite and the embedded broker: ready 200 with both up; /health says so; both are in the OpenAPI document', async () => {
    const { hub, get } = await startHub('sqlite', {});
    try {
      const ready = await get('/ready');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.ready, true);
      assert.equal(ready.body.database?.ok, true);
      assert.equal(ready.body.broker?.ok, true, 'the embedded broker listens');
      const health = await get('/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.ok, true);
      assert.ok(health.body.time && health.body.database?.ok && health.body.broker?.ok, JSON.stringify(health.body));
      const openapi = (await get('/openapi.json')).body as unknown as { paths: Record<string, { get?: { 'x-required-role'?: string } }> };
      assert.equal(openapi.paths['/api/v1/ready']?.get?.['x-required-role'], 'public');
      assert.equal(openapi.paths['/api/v1/health']?.get?.['x-required-role'], 'public');
    } finally {
      await hub.stop();
    }
  });

  it('PostgreSQL stopped: /ready 503 DATABASE_UNAVAILABLE naming the database and since when, /health still 200; ready again after it starts', async () => {
    const pg: PgCluster = await startPostgres();
    const { hub, http, get } = await startHub('pg', { database: pg.createDatabase() });
    try {
      assert.equal((await get('/ready')).status, 200);
      assert.equal(await databaseUp(http), 1);
      await pg.down();
      const downAt = Date.now();
      const notReady = await readyWhen(get, '/ready 503 with the server stopped', (a) => a.status === 503);
      assert.equal(notReady.body.error?.code, 'DATABASE_UNAVAILABLE');
      assert.match(notReady.body.error?.message ?? '', /not ready: the database is down since \d{4}-\d\d-\d\dT[^ ]+ \(DATABASE_UNAVAILABLE: the hub's log says why/);
      assert.doesNotMatch(JSON.stringify(notReady.body), /127\.0\.0\.1|postgres:\/\/|edgefleet@/, "anyone may ask: the server's address and user are left out");
      assert.equal(notReady.body.error?.details?.database.ok, false);
      assert.equal(notReady.body.error?.details?.broker.ok, true, 'the broker is not blamed');
      const since = Date.parse(notReady.body.error?.details?.database.since ?? '');
      assert.ok(since >= downAt - 1000 && since <= Date.now(), `since ${notReady.body.error?.details?.database.since} is when it went down`);
      const health = await get('/health');
      assert.equal(health.status, 200, `liveness does not fail with the database: ${JSON.stringify(health.body)}`);
      assert.equal(health.body.ok, true);
      assert.equal(health.body.database?.ok, false);
      assert.ok(health.body.time);
      assert.equal(await databaseUp(http), 0, '/metrics says the database is down');
      await pg.up();
      const back = await readyWhen(get, '/ready 200 once the server is back', (a) => a.status === 200);
      assert.equal(back.body.database?.ok, true);
      assert.equal(await databaseUp(http), 1);
      assert.ok(Date.parse(back.body.database?.since ?? '') > since, 'up since it came back');
    } finally {
      await hub.stop();
      await pg.stop();
    }
  });

  it('PostgreSQL stopped between lease renewals: a request that found it down says so at once, /ready asks it within a second', async () => {
    // Renewals a minute apart: before, /ready said ready until the next one (5 s apart by default).
    const pg: PgCluster = await startPostgres();
    const warned: string[] = [];
    const logger: LoggerPort = { ...noopLogger, warn: (_o, msg) => warned.push(msg ?? '') };
    const { hub, http, get } = await startHub('pg-between', { database: pg.createDatabase(), cluster: { enabled: false, leaseTtlMs: 180_000, renewEveryMs: 60_000 } }, logger);
    const token = readFileSync(join(dir, 'pg-between', 'admin.token'), 'utf8').trim();
    try {
      assert.equal((await get('/ready')).status, 200);
      await pg.down();
      const devices = await fetch(`${http}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(devices.status, 503);
      assert.equal(((await devices.json()) as Answer['body']).error?.code, 'DATABASE_UNAVAILABLE');
      const notReady = await get('/ready');
      assert.equal(notReady.status, 503, 'the next probe says so');
      assert.equal(notReady.body.error?.code, 'DATABASE_UNAVAILABLE');
      assert.ok(warned.some((m) => m.startsWith('the database failed GET /api/v1/devices')), `the failed request told it: ${JSON.stringify(warned)}`);
      await pg.up();
      await readyWhen(get, '/ready 200 once the server is back, long before the next renewal', (a) => a.status === 200);
      // No request this time: the probe's own check finds it.
      await pg.down();
      const again = await readyWhen(get, '/ready 503 with the server stopped and no request', (a) => a.status === 503);
      assert.equal(again.body.error?.code, 'DATABASE_UNAVAILABLE');
      assert.ok(warned.some((m) => m.startsWith('the database failed the readiness check')), JSON.stringify(warned));
      const health = await get('/health');
      assert.equal(health.status, 200, 'liveness still does not fail with the database');
    } finally {
      await hub.stop();
      await pg.stop();
    }
  });

  it('external Mosquitto stopped: /ready 503 NOT_READY naming the broker link, /health still 200; ready again after it starts', { skip: skipMosquitto }, async () => {
    const mosq = await startMosquitto([], { user: 'hub-1', password: 'hub-password-1' });
    const { hub, http, get } = await startHub('ext', { externalBroker: { url: mosq.url, username: 'hub-1', password: 'hub-password-1', passwordFile: mosq.passwordFile } });
    try {
      assert.equal((await get('/ready')).status, 200);
      assert.equal(await gauge(http, 'edgefleet_hub_broker_up'), 1);
      await mosq.down();
      const notReady = await readyWhen(get, '/ready 503 with the broker stopped', (a) => a.status === 503);
      assert.equal(await gauge(http, 'edgefleet_hub_broker_up'), 0, '/metrics says the broker link is down');
      assert.equal(await databaseUp(http), 1);
      assert.equal(notReady.body.error?.code, 'NOT_READY');
      assert.match(notReady.body.error?.message ?? '', new RegExp(`not ready: the MQTT broker link is down since \\S+ \\(.*${mosq.url.replace(/[.]/g, '\\.')}`));
      assert.equal(notReady.body.error?.details?.database.ok, true, 'the database is not blamed');
      const health = await get('/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.broker?.ok, false);
      await mosq.up();
      const back = await readyWhen(get, '/ready 200 once the broker is back', (a) => a.status === 200);
      assert.equal(back.body.broker?.ok, true);
      assert.equal(await gauge(http, 'edgefleet_hub_broker_up'), 1);
    } finally {
      await hub.stop();
      await mosq.stop();
    }
  });
});
