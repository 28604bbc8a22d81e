// Drift's numbers agree with each other over a real hub.db, the REST API on port 0 and the CLI run
// in-process: a version whose manifest has no reference shows each numeric feature's mean with the count
// of the values behind it (not `n: 0`), and every feature says why it has no PSI; `--json` and the text
// print the same n; a feature missing from a device's windows says it has no values; a range in the
// future ends saying so and what now is, an empty past one asking for a longer range; a deprecated version
// says so in the answer, its text and a stored report (docs/drift.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { DriftReport, DriftResponse, Feature, Reference, SummaryWindow } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { main } from '../cli/main.js';
import { StringWriter } from '../cli/output.js';

const FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' }, { name: 'aux', index: 1, kind: 'numeric' },
  { name: 'mode', index: 2, kind: 'categorical', vocabulary: ['idle', 'run'] },
];
const REFERENCE: Reference = {
  id: 'a'.repeat(64), rows: 1000,
  features: [numericReference('temp'), numericReference('aux'), { kind: 'categorical', name: 'mode', counts: { idle: 500, run: 500 }, other: 0 }], outputs: [],
};
/** What a box running a version without a reference records: no bins, moments and categories only. */
const NONE: Reference = { id: 'b'.repeat(64), rows: 0, features: [], outputs: [] };

describe('drift numbers agree', () => {
  it('without a reference, n counts the values behind each mean, in JSON and text alike; a range in the future says so', async () => {
    const h = makeHarness();
    const server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      await new Promise((r) => server.once('listening', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
      registerVersion(h.store.db, 'press', '2.0.0', { features: FEATURES });
      const rand = seeded(11);
      const now = h.clock.now().getTime();
      const spec = { numeric: { temp: normal(rand, 5, 1.2), aux: normal(rand, 5, 1.2) }, categorical: { mode: () => (rand() < 0.5 ? 'idle' : 'run') } };
      for (const id of ['dev-1', 'dev-2']) {
        h.store.devices.create(id, 'x'.repeat(32), {}, null, h.clock.now());
        const at = (i: number) => ({ model: 'press', start: now - 3 * 3600_000 + i * 60_000 });
        // dev-2's windows of 1.0.0 carry no aux (a sensor it lacks).
        const drop = (w: SummaryWindow) => (id === 'dev-2' ? { ...w, features: w.features.filter((f) => f.name !== 'aux') } : w);
        const windows = [
          ...Array.from({ length: 15 }, (_, i) => sampleWindow({ ...at(i), version: '2.0.0' }, FEATURES, NONE, 100, spec, rand)),
          ...Array.from({ length: 15 }, (_, i) => drop(sampleWindow({ ...at(i), version: '1.0.0' }, FEATURES, REFERENCE, 100, spec, rand))),
        ];
        // dev-1 also reports a few predictions an hour later: a bucket of the timeline with too few, beside empty ones.
        if (id === 'dev-1') windows.push(sampleWindow({ model: 'press', version: '1.0.0', start: now - 3600_000 }, FEATURES, REFERENCE, 10, spec, rand));
        h.store.db.transaction(() => h.store.rollups.applyWindows(id, windows))();
      }
      const range = ['--since', new Date(now - 6 * 3600_000).toISOString(), '--until', new Date(now).toISOString()];
      const run = async (...args: string[]) => {
        const out = new StringWriter();
        const err = new StringWriter();
        const code = await main(['drift', 'press', ...args, '--hub', url, '--token', h.tokens.viewer], { stdout: out, stderr: err, env: {}, cwd: h.dir, now: () => h.clock.now() });
        assert.equal(code, 0, err.text);
        return out.text;
      };

      const json = JSON.parse(await run('2.0.0', ...range, '--json')) as DriftResponse;
      const g = json.groups[0];
      assert.equal(g?.predictions, 3000);
      const temp = g?.features.find((f) => f.name === 'temp');
      assert.equal(temp?.n, 3000, `the mean of temp stands for its 3000 values: ${JSON.stringify(temp)}`);
      assert.ok(temp?.mean !== null && Math.abs((temp?.mean ?? 0) - 5) < 0.2);
      assert.equal(temp?.psi, null);
      assert.equal(temp?.insufficient, 'no reference bins (the manifest gives no edges for temp), so there is nothing to compare with: its mean and n only');
      assert.equal(g?.features.find((f) => f.name === 'mode')?.insufficient, 'the manifest has no reference, so there is nothing to compare with');
      assert.equal(json.deprecated, null, 'a version not deprecated says null');
      assert.match(await run('2.0.0', ...range), /against the manifest's reference \(it has none\)[^]*2 devices, 3000 predictions\n {2}no verdict: press 2\.0\.0 has no reference[^]*: the manifest has no reference to compare with: compare with a period \(--baseline START\/END\)\n$/);

      // Against a period of its own traffic, the text prints the n the JSON has, and says why temp has no PSI.
      const baseline = ['--baseline', `${new Date(now - 3 * 3600_000).toISOString()}/${new Date(now).toISOString()}`];
      const period = JSON.parse(await run('2.0.0', ...range, ...baseline, '--json')) as DriftResponse;
      const text = await run('2.0.0', ...range, ...baseline);
      for (const f of period.groups[0]?.features ?? []) {
        const row = text.split('\n').find((l) => l.trimStart().startsWith(`${f.name} `))?.trim().split(/\s{2,}/);
        assert.equal(row?.[row.length - 2 + (f.drifted ? -1 : 0)] ?? row?.at(-1), String(f.n), `${f.name}: ${String(row)}`);
      }
      assert.match(text, /\n {2}temp: no reference bins \(the manifest gives no edges for temp\), so there is nothing to compare with: its mean and n only\n/);

      // A feature one device never reports: its own group says it has no values; the fleet counts the other's.
      const byDevice = JSON.parse(await run('1.0.0', ...range, '--by', 'device', '--json')) as DriftResponse;
      const aux = (key: string) => byDevice.groups.find((x) => x.key === key)?.features.find((f) => f.name === 'aux');
      assert.deepEqual([aux('dev-1')?.n, aux('dev-1')?.insufficient], [1510, null]);
      assert.deepEqual([aux('dev-2')?.n, aux('dev-2')?.mean, aux('dev-2')?.insufficient], [0, null, '0 values of aux (nulls and NaNs are not values): expected at least 1000 for a drift verdict']);
      const devText = await run('1.0.0', ...range, '--by', 'device');
      assert.match(devText, /\ndevice = dev-2: 1 device, 1500 predictions\n/);
      assert.match(devText, /\n {2}aux: 0 values of aux/);
      assert.doesNotMatch(devText, /worst devices: dev-1 \(/, 'a group by device does not rank itself');

      // The timeline tells a bucket without predictions (_) from one with too few (·), in JSON and text.
      assert.deepEqual(byDevice.timeline?.predictions, [0, 0, 0, 3000, 0, 10]);
      assert.deepEqual(byDevice.timeline?.psi['temp']?.map((x) => x === null), [true, true, true, false, true, true]);
      assert.match(devText, /^TREND: PSI of all devices per 1 h, oldest first \(· too few predictions, _ none\)$/m);
      assert.match(devText, /\n {2}temp {2,}numeric .* ___▁_·\n/);

      // A range not begun ends saying it is in the future and what now is; an empty past one asks for a longer range.
      const ahead = await run('1.0.0', '--since', new Date(now + 3600_000).toISOString(), '--until', new Date(now + 7200_000).toISOString());
      assert.match(ahead, /\n {2}no verdict: 0 predictions \(the range starts at 2026-03-01T13:00:00\.000Z, after now, 2026-03-01T12:00:00\.000Z: no device/);
      assert.match(ahead, /: the range is in the future \(now is 2026-03-01T12:00:00\.000Z\): no device has reported in it yet: expected a range that has begun \(--since 24h\)\n$/);
      assert.doesNotMatch(ahead, /longer range/);
      const past = await run('1.0.0', '--since', new Date(now - 30 * 3600_000).toISOString(), '--until', new Date(now - 25 * 3600_000).toISOString());
      assert.match(past, /: expected more predictions: a longer range \(--since 7d\)\n$/);
      assert.doesNotMatch(past, /DEPRECATED/);

      // Deprecated over REST (as `edgefleet model deprecate` does): its drift says when and why, in JSON, text and a stored report.
      const dep = await fetch(`${url}/api/v1/models/press/versions/1.0.0/deprecate`, { method: 'POST', headers: { authorization: `Bearer ${h.tokens.operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'aux sensor miswired' }) });
      assert.equal(dep.status, 200, await dep.text());
      const at = h.clock.now().toISOString();
      assert.deepEqual((JSON.parse(await run('1.0.0', ...range, '--json')) as DriftResponse).deprecated, { at, reason: 'aux sensor miswired' });
      assert.match(await run('1.0.0', ...range), new RegExp(`^press 1\\.0\\.0, .*\nDEPRECATED at ${at.replace(/\./g, '\\.')} \\(aux sensor miswired\\): no longer assignable; the devices running it keep it until moved to another version\n`));
      assert.equal((JSON.parse(await run('2.0.0', ...range, '--json')) as DriftResponse).deprecated, null, 'only the version deprecated');
      const stored = await fetch(`${url}/api/v1/drift-reports`, { method: 'POST', headers: { authorization: `Bearer ${h.tokens.operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'press', version: '1.0.0' }) });
      assert.equal(stored.status, 201);
      assert.deepEqual(((await stored.json()) as DriftReport).report.deprecated, { at, reason: 'aux sensor miswired' });
    } finally {
      server.close();
      h.close();
    }
  });
});
