// retention.historyDays wired into a hub process's retention run (server/wiring.ts createRetention,
// docs/decisions/0067-deployment-history-retention.md) over real HTTP on 127.0.0.1:0, with a manual clock:
// a device deployed v1, v1 again, then v2; 8 days later the first deployment (neither current nor the
// previous version) is gone — GET /deployments/{id} is 404, the list is the other two — and /metrics counts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, waitFor } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { FACTS, ManualClock } from '../testing/harness.js';

test('hub: with retention.historyDays 7 a deployment no device uses goes 7 days after its last activity', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hubhistory-'));
  const fx = await makeFixture(join(dir, 'fx'));
  const clock = new ManualClock();
  const hub = new Hub(HubConfig.parse({
    dataDir: join(dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent',
    retention: { historyDays: 7, everyMs: 100 },
  }), noopLogger, clock);
  try {
    const addr = await hub.start();
    const token = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const raw = body instanceof Uint8Array;
      const r = await fetch(`${addr.http}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
        ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
      });
      return { status: r.status, text: await r.text() };
    };
    const ok = async (method: string, path: string, body?: unknown) => {
      const r = await api(method, path, body);
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
      return JSON.parse(r.text) as Record<string, unknown>;
    };
    for (const b of [fx.v1, fx.v2]) await ok('POST', '/api/v1/models', new Uint8Array(readFileSync(b)));
    const et = await ok('POST', '/api/v1/enrollment-tokens', {});
    await ok('POST', '/api/v1/enroll', { token: et['token'], deviceId: 'box-1', facts: FACTS });
    const name = fx.bundles.v1.manifest.name;
    const ids: number[] = [];
    for (const version of ['1.0.0', '1.0.0', '2.0.0']) {
      ids.push((await ok('POST', '/api/v1/deployments', { model: name, version, target: { devices: ['box-1'] }, reason: `v${version}` }))['id'] as number);
    }
    const listed = async () => ((await ok('GET', '/api/v1/deployments')) as { deployments: Array<{ id: number }> }).deployments.map((d) => d.id);
    assert.deepEqual(await listed(), [...ids].reverse());

    clock.advance(6 * 86_400_000);
    await new Promise((r) => setTimeout(r, 400)); // a few runs (every 100 ms): nothing is 7 days old yet
    assert.deepEqual(await listed(), [...ids].reverse());

    clock.advance(2 * 86_400_000);
    await waitFor('the first deployment deleted', async () => ((await api('GET', `/api/v1/deployments/${ids[0]}`)).status === 404 || undefined));
    assert.match((await api('GET', `/api/v1/deployments/${ids[0]}`)).text, /"code":"NOT_FOUND"/);
    assert.deepEqual(await listed(), [ids[2], ids[1]], 'the current one and the one of the previous version stay');
    assert.match((await api('GET', '/metrics')).text, /edgefleet_history_deleted_total\{kind="deployment"\} 2/);
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
