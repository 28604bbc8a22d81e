// A deployment to the whole fleet signs and stores one desired document per device in one synchronous
// transaction (service.ts createDeployment), so each per-device statement is prepared once, not once per
// document: preparing them per call was a third of the hub's CPU for a deployment to 5,000 devices
// (docs/performance.md "Fleet scale probe"). Counted through the store's prepare, on the real store and
// broker of the deployments tests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, prepare, startHub, addDevice } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('prepared-once', () => {
  before(prepare);
  after(cleanup);

  const DEVICES = 300;

  describe('desired documents for a fleet', () => {
    it(`a deployment to ${DEVICES} devices and a second one prepare a bounded number of statements, not one set per device, and run one a document`, async () => {
      const h = await startHub();
      try {
        h.store.db.transaction(() => {
          for (let i = 0; i < DEVICES; i++) addDevice(h, `dev-${String(i).padStart(3, '0')}`, { site: i % 2 ? 'north' : 'south' });
        })();
        const db = h.store.db as { prepare(sql: string): unknown };
        const real = db.prepare.bind(db);
        let prepared = 0;
        // Statements run, by SQL (of those prepared from here on: the repositories prepare theirs on first use).
        const ran = new Map<string, number>();
        db.prepare = (sql: string) => {
          prepared++;
          const st = real(sql) as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
          for (const m of ['run', 'get', 'all'] as const) {
            const f = st[m].bind(st);
            st[m] = (...a: unknown[]) => {
              ran.set(sql, (ran.get(sql) ?? 0) + 1);
              return f(...a);
            };
          }
          return st;
        };
        const first = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'everyone' }, 'op');
        assert.equal(first.devices.length, DEVICES);
        const firstPrepared = prepared;
        // Each device's document is built from its rows read a chunk of devices a statement, and stored by one INSERT: the
        // documents are built twice (signed ahead in chunks, then committed), so 2 a device and a bounded rest
        // (docs/decisions/0188-deployment-commit-set-based.md). Before: 12 a device and 2 savepoints.
        const perDevice = [...ran].filter(([, n]) => n >= DEVICES).map(([sql, n]) => `${n}x ${sql.slice(0, 60)}`);
        const runs = [...ran.values()].reduce((a, n) => a + n, 0);
        assert.ok(runs < 2 * DEVICES + 150, `first deployment: ${runs} statements run for ${DEVICES} documents (${perDevice.join('; ')})`);
        assert.equal(perDevice.length, 1, `only the INSERT of each document runs once a device or more: ${perDevice.join('; ')}`);
        assert.match(perDevice[0] ?? '', /^600x INSERT INTO desired_documents /);
        prepared = 0;
        await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { tags: { site: 'north' } }, reason: 'north' }, 'op');
        assert.equal(h.store.desired.lastSeq('dev-001'), 2, 'north devices got a second document');
        // Before: 8 statements prepared for each document (6,000 for these two deployments).
        assert.ok(firstPrepared < 60, `first deployment: ${firstPrepared} statements prepared for ${DEVICES} documents`);
        assert.ok(prepared < 60, `second deployment: ${prepared} statements prepared for ${DEVICES / 2} documents`);
      } finally {
        await h.close();
      }
    });

    it(`an undeploy from ${DEVICES} devices prepares a bounded number of statements, not one set per device`, async () => {
      const h = await startHub();
      try {
        h.store.db.transaction(() => {
          for (let i = 0; i < DEVICES; i++) addDevice(h, `dev-${String(i).padStart(3, '0')}`, {});
        })();
        const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'everyone' }, 'op');
        const db = h.store.db as { prepare(sql: string): unknown };
        const real = db.prepare.bind(db);
        const prepared: string[] = [];
        db.prepare = (sql: string) => {
          prepared.push(sql);
          return real(sql);
        };
        const { result } = await h.parts.deployments.undeployStored(dep.id, { reason: 'retired', actor: 'op', confirmDevices: DEVICES });
        assert.equal(result.devices, DEVICES);
        // Before: 1,220 (each device's row marked and its removal's seq carried by statements prepared for it). Now ~21.
        assert.ok(prepared.length < 60, `undeploy: ${prepared.length} statements prepared for ${DEVICES} devices`);
      } finally {
        await h.close();
      }
    });
  });
});
