// The fleet library's pure and network-light parts: vibrationRows, trafficLoop against
// a real local HTTP server (200s counted as predictions, 404s as failures, bad rate
// refused), renderFleet's layout, portOrFree, waitFor's timeout message, and
// startProgram's refusal of a missing built program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GateConfig } from '@edgefleet/shared';
import { N_FEATURES } from '../vibration/data.js';
import { portOrFree, type Api } from './hub.js';
import { startProgram } from './process.js';
import { trafficLoop, vibrationRows } from './traffic.js';
import { fleetSnapshotter, renderFleet, type FleetSnapshot } from './view.js';
import { waitFor } from './wait.js';

test('vibrationRows: rows of N_FEATURES, different per agent, deterministic', () => {
  const rows = vibrationRows({ seed: 3, rowsPerRequest: 5 });
  const a = rows(0, 0);
  assert.equal(a.length, 5);
  assert.ok(a.every((r) => r.length === N_FEATURES));
  assert.deepEqual(vibrationRows({ seed: 3, rowsPerRequest: 5 })(0, 0), a);
  assert.notDeepEqual(rows(1, 0), a);
});

test('trafficLoop: counts served rows and failures per agent; refuses a bad rate', async () => {
  assert.throws(() => trafficLoop([], vibrationRows(), 0), /expected a positive rate per second, got 0/);
  const bodies: Array<{ inputs: Array<{ name: string; shape: number[]; data: number[] }> }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let b = '';
    req.setEncoding('utf8').on('data', (d: string) => (b += d)).on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/ok/v2/models/vibration-anomaly/infer')) {
        bodies.push(JSON.parse(b) as (typeof bodies)[number]);
        res.end(JSON.stringify({ model_name: 'vibration-anomaly', model_version: '1.0.0', outputs: [] }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: 'no model "vibration-anomaly"' }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const loop = trafficLoop([{ url: `${base}/ok` }, { url: `${base}/missing` }], vibrationRows({ rowsPerRequest: 3 }), 50);
    await waitFor('a few answers from both', () => (loop.stats[0]!.ok >= 3 && loop.stats[1]!.failed >= 3) || undefined, { timeoutMs: 20_000, intervalMs: 50 });
    await loop.stop();
    await loop.stop();
    const [ok, missing] = loop.stats;
    assert.equal(ok!.predictions, ok!.ok * 3);
    assert.equal(ok!.lastVersion, '1.0.0');
    assert.equal(missing!.ok, 0);
    assert.match(missing!.lastError ?? '', /HTTP 404: no model "vibration-anomaly"/);
    const first = bodies[0]!.inputs[0]!;
    assert.equal(first.name, 'features');
    assert.deepEqual(first.shape, [3, N_FEATURES]);
    assert.equal(first.data.length, 3 * N_FEATURES);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('renderFleet: one row per device with deployment progress and totals, and the rollouts with their gates', () => {
  const s: FleetSnapshot = {
    at: '2026-01-01T00:00:00.000Z', model: 'vibration-anomaly',
    devices: [
      { deviceId: 'edge-1', tags: { ring: 'canary' }, online: true, version: '1.0.0', deployment: { id: 2, version: '2.0.0', status: 'downloading', progress: 0.4, reason: null }, served: 10, hubWindows: 1, hubPredictions: 8 },
      { deviceId: 'edge-2', tags: {}, online: false, version: null, deployment: null, served: null, hubWindows: 0, hubPredictions: 0 },
      { deviceId: 'edge-3', tags: {}, online: true, version: null, deployment: { id: 1, version: '1.0.0', status: 'removed', progress: null, reason: 'retired' }, served: 5, hubWindows: 1, hubPredictions: 5 },
    ],
    deployments: [{ id: 2, model: 'vibration-anomaly', version: '2.0.0', target: { tags: { ring: 'canary' } }, reason: 'canary', createdBy: 'admin', created: '2026-01-01T00:00:00.000Z', counts: { pending: 0, downloading: 1, activating: 0, active: 0, failed: 0, refused: 0, rolled_back: 0, superseded: 0, deferred: 0, waiting_for_disk: 0, removing: 0, removed: 0 } }],
    rollouts: [{
      id: 'ro-1', model: 'vibration-anomaly', version: '3.0.0', fromVersion: '2.0.0', target: { all: true }, advance: 'auto', onFailure: 'rollback',
      gates: GateConfig.parse({}), state: 'rolled_back', currentWave: 0, reason: 'r', stateReason: 'wave canary failed its gates: output_shift 1.2 (threshold 0.2)', stateBy: 'hub', stateAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'admin', created: '2026-01-01T00:00:00.000Z', updated: '2026-01-01T00:00:00.000Z',
      waves: [
        { name: 'canary', percent: 25, bakeSec: 20, state: 'failed', devices: 1, notified: 1, active: 1, startedAt: null, bakeUntil: null, gates: [
          { name: 'output_shift', value: 1.2, threshold: 0.2, verdict: 'fail', blocking: true, samples: { wave: 600, control: 1800 }, against: 'control' },
          { name: 'model_error_rate', value: 0, threshold: 1, verdict: 'pass', blocking: true, samples: { wave: 600, control: 1800 }, against: 'control' },
          { name: 'latency_p95', value: 0.8, threshold: 0.5, verdict: 'pending', blocking: true, samples: { wave: 100, control: 1800 }, against: 'control' },
          { name: 'predictions', value: 100, threshold: 600, verdict: 'pending', blocking: true, samples: { wave: 100, control: 1800 }, against: 'absolute' },
        ] },
        { name: 'all', percent: 100, bakeSec: 10, state: 'pending', devices: 2, notified: 1, active: 1, startedAt: null, bakeUntil: null, gates: [
          { name: 'output_shift', value: 0.3, threshold: 0.2, verdict: 'pending', blocking: true, samples: { wave: 100, control: 40 }, against: 'control', note: 'waiting for the control devices: 40 of 600 predictions' },
        ] },
      ],
    }],
  };
  const text = renderFleet(s);
  assert.match(text, /^DEVICE\s+TAGS\s+ONLINE\s+VERSION\s+DEPLOYMENT\s+SERVED\s+HUB WINDOWS\s+HUB PREDICTIONS$/m);
  assert.match(text, /^edge-1\s+ring=canary\s+yes\s+1\.0\.0\s+#2 2\.0\.0 downloading \[####------\]\s+40%\s+10\s+1\s+8$/m);
  assert.match(text, /^edge-2\s+-\s+no\s+-\s+-\s+-\s+0\s+0$/m);
  assert.match(text, /^edge-3\s+-\s+yes\s+-\s+#1 1\.0\.0 removed retired\s+5\s+1\s+5$/m, 'an undeployed model shows no progress bar');
  assert.match(text, /2\/3 online; versions: 1\.0\.0 x1, none x2; served 15 predictions; hub stored 2 windows holding 13 predictions/);
  assert.match(text, /#2 vibration-anomaly 2\.0\.0 \(canary\): 1 downloading/);
  assert.match(text, /ro-1 2\.0\.0 -> 3\.0\.0 rolled back — wave canary failed its gates: output_shift 1\.2/);
  assert.match(text, /canary failed 1\/1 \(output_shift 1\.2 > 0\.2 FAIL, model_error_rate 0 <= 1, latency_p95 0\.8 pending \(passes at <= 0\.5\)\) -> all pending 1\/2 \(output_shift 0\.3 pending \(waiting for the control devices: 40 of 600 predictions\)\)$/m);
});

test('portOrFree: the preferred port when free, 0 when taken', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const taken = (s.address() as AddressInfo).port;
  try {
    assert.equal(await portOrFree(taken), 0);
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
  assert.equal(await portOrFree(taken), taken);
});

test('waitFor names what it waited for; startProgram names a missing program', async () => {
  await assert.rejects(waitFor('the moon', () => undefined, { timeoutMs: 50, intervalMs: 10 }), /timed out after 50 ms waiting for the moon/);
  assert.throws(() => startProgram('hub/dist/nope/main.js', []), /no program at .*hub\/dist\/nope\/main\.js: expected a built program \(run `npx tsc -b` first\)/);
});

test('fleetSnapshotter: every page of GET /devices, a fleet of 1,001 devices read in two answers', async () => {
  const ids = Array.from({ length: 1001 }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
  const asked: string[] = [];
  // The hub's answers as GET /devices gives them (docs/hub.md): 1,000 by id, `next` the ?after= of the rest.
  const api = (async (_method: string, path: string) => {
    asked.push(path);
    const u = new URL(path, 'http://hub');
    if (u.pathname === '/devices') {
      const after = u.searchParams.get('after');
      const rest = after === null ? ids : ids.filter((id) => id > after);
      const page = rest.slice(0, 1000);
      return { devices: page.map((id) => ({ id, tags: {}, online: true, revoked: false, models: [] })), next: rest.length > 1000 ? page.at(-1) : null };
    }
    if (u.pathname === '/deployments') return { deployments: [] };
    if (u.pathname === '/rollouts') return { rollouts: [] };
    return { windows: [], next: null };
  }) as Api;
  const snap = await fleetSnapshotter({ api, model: 'm' })();
  assert.equal(snap.devices.length, 1001);
  assert.equal(snap.devices.at(-1)?.deviceId, 'dev-1000');
  assert.deepEqual(asked.filter((p) => p.startsWith('/devices?') || p === '/devices'), ['/devices', '/devices?after=dev-0999']);
});
