// A hub stopped while a deployment's documents are signed ahead (docs/decisions/0170-deployments-signed-ahead-in-chunks.md):
// the hub as it ships (server/hub.ts) on a data dir with 450 devices, over real HTTP on 127.0.0.1:0. Its stop halts the
// signing at its next turn, the POST is answered 503 NOT_READY, and hub.db holds no deployment, row, document or audit entry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from '../server/hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { ManualClock } from '../testing/harness.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { SIGN_CHUNK } from './signed-ahead.js';

const N = SIGN_CHUNK * 4 + 50;

describe('a hub stopped while a deployment is signed ahead', () => {
  it('answers the POST 503 NOT_READY, stops, and leaves nothing of the deployment in hub.db', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-signed-ahead-'));
    const dataDir = join(dir, 'hub');
    try {
      const fx = await makeFixture(join(dir, 'fx'));
      const store = Store.open(dataDir, HUB_MIGRATIONS);
      const clock = new ManualClock();
      store.db.transaction(() => { for (let i = 0; i < N; i++) store.devices.create(`d-${String(i).padStart(3, '0')}`, `secret-${i}`, {}, null, clock.now()); })();
      store.close();
      const hub = new Hub(HubConfig.parse({ dataDir, httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' }), noopLogger, clock);
      let stopped: Promise<void> | null = null;
      try {
        const { http } = await hub.start();
        const headers = { authorization: `Bearer ${hub.newAdminToken ?? ''}` };
        const pushed = await fetch(`${http}/api/v1/models`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(readFileSync(fx.v1)) });
        assert.equal(pushed.status, 201, await pushed.text());
        const post = fetch(`${http}/api/v1/deployments`, {
          method: 'POST', headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ model: fx.bundles.v1.manifest.name, version: '1.0.0', target: { all: true }, reason: 'to all' }),
        });
        // Once the first chunk is signed (the signer signs a chunk a turn of the event loop), the hub is stopped.
        for (let i = 0; i < 100_000 && (hub.deployments?.signingAhead()?.signed ?? 0) < SIGN_CHUNK; i++) await new Promise((r) => setImmediate(r));
        const p = hub.deployments?.signingAhead();
        assert.ok(p && p.signed >= SIGN_CHUNK && p.signed < N, `expected the deployment being signed, got ${JSON.stringify(p)}`);
        stopped = hub.stop();
        const res = await post;
        const body = (await res.json()) as { error?: { code: string; message: string } };
        assert.equal(res.status, 503);
        assert.equal(body.error?.code, 'NOT_READY');
        assert.match(body.error?.message ?? '', /the hub is stopping: the deployment was not stored/);
        await stopped;
      } finally {
        await (stopped ?? hub.stop());
      }
      const after = Store.open(dataDir, HUB_MIGRATIONS);
      try {
        const count = (table: string) => (after.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
        assert.deepEqual([count('deployments'), count('deployment_devices'), count('desired_documents')], [0, 0, 0]);
        assert.deepEqual(after.audit.query({}).filter((a) => a.action === 'deployment.create'), []);
      } finally {
        after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
