// Outputs of a version whose manifest has no reference get their mean and the count of values behind it,
// as its numeric features do (docs/drift.md "Drift"): windows sent through the real ingest path (embedded
// aedes on 127.0.0.1:0, a real hub.db, signed bundles of a real ONNX model) for vib 1.0.0 (a reference:
// its output binned and compared, unchanged) and vib 2.0.0 (none: the agent sends its output's moments
// only). The fleet, `--by tag:site` and `--by device` groups, metrics, the timeline and the CLI's JSON and
// text agree with the raw values drawn. A layout stored before output slots existed gains them in place:
// its rollups and a drift report stored before still read
// (docs/decisions/0171-outputs-without-reference-keep-their-mean.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import { withReferenceId, type DriftReport, type DriftResponse, type MetricsResponse, type SeqWindow } from '@edgefleet/shared';
import { startIngestHub, type IngestHub } from '../ingest/testing.js';
import { Registry, bundleVerifier } from '../registry.js';
import { TEMP_MODE_FEATURES, normal, registerVersion, sampleWindow, seeded, tempModeReference } from '../rollups/testing.js';
import { extendedLayout, layoutOf, type RollupLayout } from '../rollups/layout.js';
import { RollupsRepo } from '../store/rollups-repo.js';
import { makeHarness } from '../testing/harness.js';
import { FleetAnalytics } from './service.js';
import { cliOver } from '../testing/cli.js';
import { mean, near, vibRecorder } from './oracle.js';

const H09 = Date.parse('2026-03-01T09:00:00.000Z');
const RANGE = `since=${new Date(H09).toISOString()}&until=${new Date(H09 + 2 * 3600_000).toISOString()}`;
const NO_BINS = 'no reference bins (the manifest gives no edges for score), so there is nothing to compare with: its mean and n only';
const SITES: Record<string, string> = { a: 'north', b: 'north', c: 'south' };

describe('outputs of a version without a reference', () => {
  let hub: IngestHub;
  let root: string;
  let rec: ReturnType<typeof vibRecorder>;
  /** vib 2.0.0's raw output values per device, in the order drawn. */
  const scores = new Map<string, number[]>();
  const rand = seeded(21);

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-noref-out-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const { id: _id, ...profile } = tempModeReference('');
    const common = { dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: 'vib', keys, features: TEMP_MODE_FEATURES };
    const withRef = await bundleFromOnnx({ ...common, version: '1.0.0', reference: withReferenceId(profile) });
    const noRef = await bundleFromOnnx({ ...common, version: '2.0.0' });
    hub = await startIngestHub({ bundle: withRef, trust, keys, devices: Object.fromEntries(Object.entries(SITES).map(([d, site]) => [d, { site }])) });
    await new Registry(hub.h.store, bundleVerifier(() => trust), 'off').push(createReadStream(noRef.path), { maxBytes: 64 << 20, pushedBy: 'test', at: hub.h.clock.now() });
    rec = vibRecorder(withRef.manifest.reference?.id ?? '');
    const gen = { temp: normal(rand, 5, 1.5), mode: () => 'run', score: () => 0.25 * Math.floor(rand() * 4) + 0.1 };
    const ioOutputs = mlp.io.outputs.map((o) => o.name);
    for (const d of Object.keys(SITES)) await hub.send(d, [rec.window(d, 1, H09, 1200, gen)]);
    // Then 2.0.0 replaces it on every device (a window of a version the device was never given is refused).
    await hub.parts.deployments.deploy({ model: 'vib', version: '2.0.0', target: { devices: Object.keys(SITES) }, reason: 'no reference' }, 'op');
    for (const [i, d] of Object.keys(SITES).entries()) {
      // Each device's own level, so the groups' means differ: north's from 0.2 and 0.4, south's 0.7.
      const level = [0.2, 0.4, 0.7][i] as number;
      const own: number[] = [];
      scores.set(d, own);
      const spec = { numeric: { temp: normal(rand, 5, 1.5) }, outputs: { score: () => { const x = level + 0.1 * rand(); own.push(x); return x; } } };
      const v2 = (seq: number, start: number, n: number): SeqWindow => {
        // As the agent sends a version without a reference: no referenceId, the output's moments only.
        const { referenceId: _r, ...w } = sampleWindow({ model: 'vib', version: '2.0.0', start }, TEMP_MODE_FEATURES, { id: '', rows: 0, features: [], outputs: [] }, n, spec, rand, ioOutputs);
        return { seq, ...w };
      };
      await hub.send(d, [v2(2, H09 + 60_000, 700), v2(3, H09 + 3600_000, 800)]);
    }
  });
  after(() => hub?.stop().finally(() => rmSync(root, { recursive: true, force: true })));

  const drift = async (version: string, q = ''): Promise<DriftResponse> => {
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/${version}/drift?${RANGE}${q}`, { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as DriftResponse;
  };
  const all = (ds: string[]) => ds.flatMap((d) => scores.get(d) ?? []);

  it('the fleet, each site and each device: the output mean and the n behind it, with why there is no PSI', async () => {
    const fleet = await drift('2.0.0');
    const out = fleet.groups[0]?.outputs ?? [];
    assert.deepEqual(out.map((o) => [o.name, o.kind, o.n, o.psi, o.js, o.ks, o.bins, o.drifted, o.insufficient]), [['score', 'output', 4500, null, null, null, null, false, NO_BINS]]);
    near(out[0]?.mean, mean(all(['a', 'b', 'c'])), 'fleet mean of score');
    assert.equal(out[0]?.baselineMean, null, 'no reference, so no baseline mean');
    assert.deepEqual(fleet.timeline?.psi['output:score'], [null, null], 'the timeline names the output, with no PSI');

    const bySite = await drift('2.0.0', '&by=tag:site');
    for (const [key, ds] of [['north', ['a', 'b']], ['south', ['c']]] as const) {
      const o = bySite.groups.find((g) => g.key === key)?.outputs[0];
      assert.equal(o?.n, all([...ds]).length, `${key}: n`);
      near(o?.mean, mean(all([...ds])), `${key}: mean of score`);
      assert.equal(o?.insufficient, NO_BINS);
    }
    const byDevice = await drift('2.0.0', '&by=device');
    for (const d of Object.keys(SITES)) near(byDevice.groups.find((g) => g.key === d)?.outputs[0]?.mean, mean(scores.get(d) ?? []), `${d}: mean of score`);

    // A baseline period of its own traffic: the mean then, beside the mean now.
    const base = await drift('2.0.0', `&baseline=${new Date(H09).toISOString()}/${new Date(H09 + 3600_000).toISOString()}`);
    near(base.groups[0]?.outputs[0]?.baselineMean, mean(Object.keys(SITES).flatMap((d) => (scores.get(d) ?? []).slice(0, 700))), 'baseline mean of score');

    const m = await hub.h.req('GET', `/api/v1/models/vib/versions/2.0.0/metrics?${RANGE}`, { role: 'viewer' });
    const mo = ((await m.json()) as MetricsResponse).groups[0]?.outputs ?? [];
    assert.deepEqual(mo.map((o) => [o.name, o.edges, o.counts, o.moments.n]), [['score', null, null, 4500]]);
  });

  it('a version with a reference keeps its one binned output, compared', async () => {
    const out = (await drift('1.0.0')).groups[0]?.outputs ?? [];
    assert.deepEqual(out.map((o) => [o.name, o.n, o.insufficient]), [['score', 3600, null]]);
    assert.ok(out[0]?.psi !== null && out[0]?.bins?.labels.length === 6, JSON.stringify(out[0]));
    near(out[0]?.mean, mean(rec.of(['a', 'b', 'c'], 'score')), 'mean of score');
  });

  it('the CLI prints the n and mean the JSON has, and why the output has no PSI', async () => {
    const cli = await cliOver(hub.h.app, hub.h.tokens.viewer, hub.h.dir);
    const run = async (...a: string[]) => {
      const r = await cli.run(...a);
      assert.equal(r.code, 0, r.err);
      return r.out;
    };
    const args = ['drift', 'vib', '2.0.0', '--since', new Date(H09).toISOString(), '--until', new Date(H09 + 2 * 3600_000).toISOString(), '--by', 'tag:site', '--baseline', `${new Date(H09).toISOString()}/${new Date(H09 + 3600_000).toISOString()}`];
    // Against the reference it lacks: no verdict, and the means and n the JSON has, outputs too.
    const plain = args.slice(0, 7);
    const fleet = (JSON.parse(await run(...plain, '--json')) as DriftResponse).groups[0];
    const noVerdict = await run(...plain);
    assert.match(noVerdict, /\n {2}no verdict: vib 2\.0\.0 has no reference[^\n]*\n {2}FEATURE {2,}KIND {2,}MEAN {2,}N\n/);
    for (const f of [...(fleet?.features ?? []), ...(fleet?.outputs ?? [])].filter((x) => x.mean !== null)) {
      const name = f.kind === 'output' ? `output:${f.name}` : f.name;
      const row = noVerdict.split('\n').find((l) => l.trimStart().startsWith(`${name} `))?.trim().split(/\s{2,}/);
      assert.deepEqual(row, [name, f.kind, f.mean?.toPrecision(3), String(f.n)]);
    }
    assert.match(noVerdict, /\n {2}output:score {2,}output {2,}0\.\d{3} {2,}4500\n/);

    const json = JSON.parse(await run(...args, '--json')) as DriftResponse;
    const text = await run(...args).finally(() => cli.close());
    for (const g of json.groups) {
      const o = g.outputs[0];
      const section = text.slice(text.indexOf(`tag:site = ${g.key}:`));
      const row = section.split('\n').find((l) => l.trimStart().startsWith('output:score '))?.trim().split(/\s{2,}/);
      // FEATURE, KIND, PSI, JS, KS, CHI2 P, MEAN (BASE), N, TREND: no trend of "·" (too few predictions) where there is nothing to compare.
      assert.deepEqual(row, ['output:score', 'output', '-', '-', '-', '-', `${o?.mean?.toPrecision(3)} (${o?.baselineMean?.toPrecision(3)})`, String(o?.n), '-'], g.key);
      assert.ok((o?.n ?? 0) > 0 && o?.mean !== null);
      assert.match(section, new RegExp(`\\n {2}output:score: ${NO_BINS.replace(/[()]/g, '\\$&')}\\n`));
    }
  });
});

describe('a rollup layout stored before outputs without reference edges had slots', () => {
  it('is extended only where the new layout is it with moments slots appended', () => {
    const io = { outputs: [{ name: 'score', datatype: 'FP32' }, { name: 'label', datatype: 'INT64' }, { name: 'text', datatype: 'BYTES' }] };
    const ref = { ...tempModeReference('r'), outputs: [] };
    const stored = layoutOf({ features: TEMP_MODE_FEATURES, reference: ref });
    const fresh = layoutOf({ features: TEMP_MODE_FEATURES, reference: ref, io });
    assert.deepEqual(fresh.outputs.map((o) => [o.name, o.edges, o.moments]), [['score', null, 1], ['label', null, 2]], 'no slot for a BYTES output');
    assert.equal(extendedLayout(stored, fresh), fresh);
    assert.equal(extendedLayout(fresh, fresh), null, 'nothing to add');
    const otherVocabulary = TEMP_MODE_FEATURES.map((f) => (f.kind === 'categorical' ? { ...f, vocabulary: ['idle', 'run'] } : f));
    assert.equal(extendedLayout(layoutOf({ features: otherVocabulary, reference: ref }), fresh), null, 'other slots: kept as stored');
    // A reference output covers its tensor: only the other one is added, after it.
    const covered = layoutOf({ features: TEMP_MODE_FEATURES, reference: tempModeReference('r'), io });
    assert.deepEqual(covered.outputs.map((o) => [o.name, o.edges === null]), [['score', false], ['label', true]]);
  });

  it('gains them in place: its rollups and a report stored before read as before, the output counts what came after', async () => {
    const h = makeHarness();
    try {
      const io = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }], outputs: [{ name: 'score', datatype: 'FP32' as const, shape: [-1, 1] }] };
      // The row as a hub before this change read it: its layout took no io outputs.
      registerVersion(h.store.db, 'press', '1.0.0', { features: TEMP_MODE_FEATURES });
      h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
      const now = h.clock.now().getTime();
      const rand = seeded(3);
      const drawn: number[] = [];
      const spec = { numeric: { temp: normal(rand, 5, 1) }, outputs: { score: () => { const x = rand(); drawn.push(x); return x; } } };
      const none = { id: '', rows: 0, features: [], outputs: [] };
      const at = (start: number, n: number) => sampleWindow({ model: 'press', version: '1.0.0', start }, TEMP_MODE_FEATURES, none, n, spec, rand, ['score']);
      const old = now - 3 * 3600_000;
      h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', [at(old, 600), at(old + 60_000, 600)]))();
      const range = { since: new Date(old).toISOString(), until: new Date(now).toISOString() };
      const report = await h.req('POST', '/api/v1/drift-reports', { role: 'operator', json: { model: 'press', version: '1.0.0', ...range } });
      assert.equal(report.status, 201, await report.clone().text());
      const stored = (await report.json()) as DriftReport;
      const before = stored.report;
      assert.deepEqual(before.groups[0]?.outputs, [], 'before: the output the windows carried had no slot');

      // The manifest as it always was (with io), read by a hub of this change (a new process: nothing cached).
      const mv = h.store.db.prepare('SELECT manifest FROM model_versions WHERE name = ?').get('press') as { manifest: string };
      h.store.db.prepare('UPDATE model_versions SET manifest = ? WHERE name = ?').run(JSON.stringify({ ...JSON.parse(mv.manifest), io }), 'press');
      const repo = new RollupsRepo(h.store.db);
      const analytics = new FleetAnalytics(h.store.db, repo);
      const read = () => JSON.parse(JSON.stringify(analytics.drift('press', '1.0.0', range, h.clock.now()))) as DriftResponse;
      const upgraded = read();
      assert.deepEqual(upgraded.groups[0]?.features, before.groups[0]?.features, 'the rollups stored before read as before');
      assert.deepEqual(upgraded.groups[0]?.outputs.map((o) => [o.name, o.n, o.mean, o.insufficient]), [['score', 0, null, NO_BINS]], 'no values of it were kept before');
      const layout = JSON.parse((h.store.db.prepare('SELECT layout FROM rollup_series').get() as { layout: string }).layout) as RollupLayout;
      assert.deepEqual(layout.outputs.map((o) => [o.name, o.edges, o.moments]), [['score', null, 1]], 'the stored layout gained the slot');

      // A window into the hour stored before, and one later: the output's n and mean are theirs.
      drawn.length = 0;
      repo.applyWindows('dev-1', [at(old + 120_000, 300), at(now - 3600_000, 400)]);
      const after = read().groups[0];
      assert.deepEqual([after?.predictions, after?.features[0]?.n, after?.outputs[0]?.n], [1900, 1900, 700]);
      near(after?.outputs[0]?.mean, mean(drawn), 'mean of score');
      // The report stored before reads as it was stored.
      const again = await h.req('GET', `/api/v1/drift-reports/${stored.id}`, { role: 'viewer' });
      assert.equal(again.status, 200);
      assert.deepEqual(((await again.json()) as DriftReport).report, before);
    } finally {
      h.close();
    }
  });
});
