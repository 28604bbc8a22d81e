// Known answers for fleet drift (issue 11, docs/drift.md): a real hub (embedded broker, hub.db) and
// simulated devices speaking MQTT with real credentials send summary windows of the example model,
// recorded like the agent records them, from the reference distribution — except three devices of
// site "north": one feature's mean shifted by one standard deviation, another's spread ×2.5, and a
// machine type outside the vocabulary in 30 % of rows. Drift must name exactly those features, that
// site and those devices; in-distribution traffic must raise no alarm, measured over every
// (device, hour, feature) of the other devices; and the CLI prints the table with sparklines.
import { test } from 'node:test';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriftResponse, MetricsResponse, SummaryWindow } from '@edgefleet/shared';
import { buildExampleBundle, makeKeys, makeRng, makeTrust, runCli, waitFor } from '@edgefleet/examples';
import { FleetSimulator, sampleWindow, type SimDevice } from '../sim/index.js';
import { taggedHub } from '../sim/tagged-hub.js';

const HOURS = 6;
const WINDOWS_PER_HOUR = 6;
const PER_WINDOW = 200; // 1,200 predictions per device-hour: above the default minimum of 1,000
const NORTH = ['dev-n0', 'dev-n1', 'dev-n2'];
const SOUTH = Array.from({ length: 9 }, (_, i) => `dev-s${i}`);

test('drift finds the shifted features, site and devices; in-distribution traffic raises no alarm', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-drift-ka-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const v1 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
  const m = v1.manifest;
  const numeric = (m.features ?? []).filter((f) => f.kind === 'numeric').map((f) => f.name);
  const [meanFeature, spreadFeature] = [numeric[0] as string, numeric[3] as string];
  const catFeature = (m.features ?? []).find((f) => f.kind === 'categorical')?.name as string;

  const dataDir = join(dir, 'hub');
  const devices: SimDevice[] = [...NORTH, ...SOUTH].map((id) => ({ id, secret: `s3cret-${id}-${'x'.repeat(24)}` }));
  const { hub, addrs, token, api } = await taggedHub({ dataDir, trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, devices, tags: (id) => ({ site: NORTH.includes(id) ? 'north' : 'south' }) });
  const sim = new FleetSimulator({ url: addrs.mqtt, devices, model: { name: m.name, version: m.version } });
  try {
    await api('POST', '/models', new Uint8Array(readFileSync(v1.path)));
    await api('POST', '/deployments', { model: m.name, version: m.version, target: { all: true }, reason: 'drift known answers' });
    const c = await sim.connectAll();
    assert.equal(c.failed.length, 0, JSON.stringify(c.failed));

    const rng = makeRng(2026);
    const rand = () => rng.next();
    const hour0 = Math.floor(Date.now() / 3600_000) * 3600_000 - HOURS * 3600_000;
    await Promise.all(devices.map(async (d) => {
      const shifted = NORTH.includes(d.id);
      const ws: SummaryWindow[] = [];
      for (let i = 0; i < HOURS * WINDOWS_PER_HOUR; i++) {
        ws.push(sampleWindow(m, hour0 + (i * 3600_000) / WINDOWS_PER_HOUR, 3600 / WINDOWS_PER_HOUR, PER_WINDOW, shifted ? { mean: meanFeature, spread: spreadFeature, newCategory: 0.3 } : {}, rand));
      }
      for (let i = 0; i < ws.length; i += 12) await sim.publishWindows(d.id, ws.slice(i, i + 12));
    }));
    await waitFor('every window acked', () => sim.pending() === 0, { timeoutMs: 30_000 });
    const range = `since=${new Date(hour0).toISOString()}&until=${new Date(hour0 + HOURS * 3600_000).toISOString()}`;
    const base = `/models/${m.name}/versions/${m.version}`;

    const metrics = await api<MetricsResponse>('GET', `${base}/metrics?${range}&by=tag:site`);
    assert.deepEqual(metrics.groups.map((g) => [g.key, g.devices, g.predictions]),
      [['north', 3, 3 * HOURS * WINDOWS_PER_HOUR * PER_WINDOW], ['south', 9, 9 * HOURS * WINDOWS_PER_HOUR * PER_WINDOW]]);

    // The cohort and the features.
    const bySite = await api<DriftResponse>('GET', `${base}/drift?${range}&by=tag:site`);
    const north = bySite.groups.find((g) => g.key === 'north');
    const south = bySite.groups.find((g) => g.key === 'south');
    assert.deepEqual(north?.features.filter((f) => f.drifted).map((f) => f.name).sort(), [meanFeature, spreadFeature, catFeature].sort(), JSON.stringify(north?.features));
    assert.equal(south?.drifted, false, JSON.stringify(south?.features.filter((f) => f.drifted)));
    assert.deepEqual(north?.worstDevices.map((w) => w.deviceId).sort(), NORTH);
    const cat = north?.features.find((f) => f.name === catFeature);
    assert.ok(cat && cat.chi2_p !== null && cat.chi2_p < 1e-9, `chi-square p of the new category: ${cat?.chi2_p}`);
    const mean = north?.features.find((f) => f.name === meanFeature);
    assert.ok(mean?.mean !== null && mean?.baselineMean !== null && (mean?.mean as number) > (mean?.baselineMean as number), 'the mean moved up');

    // The devices.
    const byDevice = await api<DriftResponse>('GET', `${base}/drift?${range}&by=device&timeline=false`);
    assert.deepEqual(byDevice.groups.filter((g) => g.drifted).map((g) => g.key).sort(), NORTH);

    // False alarms: every (in-distribution device, hour, feature and output) judged on its own.
    let tests = 0;
    let alarms = 0;
    for (let h = 0; h < HOURS; h++) {
      const q = `since=${new Date(hour0 + h * 3600_000).toISOString()}&until=${new Date(hour0 + (h + 1) * 3600_000).toISOString()}`;
      const r = await api<DriftResponse>('GET', `${base}/drift?${q}&by=device&timeline=false`);
      for (const g of r.groups) {
        assert.equal(g.insufficient, null, `${g.key} hour ${h}: ${g.insufficient}`);
        const all = [...g.features, ...g.outputs].filter((f) => f.psi !== null);
        if (NORTH.includes(g.key)) {
          assert.ok(g.drifted, `${g.key} hour ${h} is caught on its own`);
          continue;
        }
        tests += all.length;
        alarms += all.filter((f) => f.drifted).length;
      }
    }
    const rate = alarms / tests;
    console.log(`drift known answers: false-alarm rate ${alarms}/${tests} = ${(rate * 100).toFixed(2)} % (in-distribution device-hours of ${PER_WINDOW * WINDOWS_PER_HOUR} predictions)`);
    assert.ok(tests >= 9 * HOURS * 12, `${tests} feature tests`);
    assert.ok(rate <= 0.005, `false-alarm rate ${rate}`);

    // The CLI: a table per site with a sparkline per feature.
    const cli = await runCli('hub/src/cli/main.ts', ['drift', m.name, m.version, '--by', 'tag:site', '--since', new Date(hour0).toISOString(), '--until', new Date(hour0 + HOURS * 3600_000).toISOString()],
      { env: { EDGEFLEET_HUB: addrs.http, EDGEFLEET_TOKEN: token } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /site = north: 3 devices, 21600 predictions - DRIFT/);
    assert.match(cli.stdout, new RegExp(`^\\s+${meanFeature}\\s+numeric\\s+[0-9.]+\\s.*DRIFT\\s+[▁▂▃▄▅▆▇█]{${HOURS}}`, 'm'));
    assert.match(cli.stdout, /site = south: 9 devices, 64800 predictions\n/);
    assert.match(cli.stdout, /worst devices: dev-n/);
    // A range without traffic says so instead of printing nothing under the header.
    const before = ['--since', new Date(hour0 - 48 * 3600_000).toISOString(), '--until', new Date(hour0 - 24 * 3600_000).toISOString()];
    for (const cmd of ['drift', 'metrics']) {
      const empty = await runCli('hub/src/cli/main.ts', [cmd, m.name, m.version, '--by', 'tag:site', ...before], { env: { EDGEFLEET_HUB: addrs.http, EDGEFLEET_TOKEN: token } });
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stdout, new RegExp(`\nno predictions of ${m.name} ${m.version} from any device in this range, so no group by tag:site: expected a range with traffic \\(--since, --until\\)\n$`), `${cmd}: ${empty.stdout}`);
    }

    // An alert rule through the CLI, scoped to the site: it fires and a signed webhook reaches a real receiver.
    const got: Array<{ body: string; signature: string }> = [];
    const rx = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        got.push({ body, signature: String(req.headers['x-edgefleet-signature'] ?? '') });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    try {
      const env = { env: { EDGEFLEET_HUB: addrs.http, EDGEFLEET_TOKEN: token } };
      const secret = 'whsec-known-answers-0123';
      const add = await runCli('hub/src/cli/main.ts', ['alerts', 'rules', 'add', '--name', 'north drift', '--metric', 'drift.psi', '--model', m.name, '--tag', 'site=north',
        '--threshold', '0.2', '--window', '7h', '--severity', 'critical', '--webhook', `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`, '--secret', secret], env);
      assert.equal(add.code, 0, add.stderr);
      hub.alerts?.evaluate();
      hub.alerts?.send();
      const hook = await waitFor('the alert webhook', () => got[0], { timeoutMs: 10_000 });
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(hook.signature) ?? [];
      assert.equal(createHmac('sha256', secret).update(`${t}.${hook.body}`).digest('hex'), v1, 'signed with the rule\'s secret');
      assert.equal((JSON.parse(hook.body) as { type: string }).type, 'alert.firing');
      const ls = await runCli('hub/src/cli/main.ts', ['alerts', 'ls', '--state', 'firing'], env);
      assert.match(ls.stdout, new RegExp(`north drift\\s+${m.name}@${m.version}\\s+firing\\s+critical`));
    } finally {
      rx.closeAllConnections();
      await new Promise<void>((r) => rx.close(() => r()));
    }
  } finally {
    await sim.stop();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
