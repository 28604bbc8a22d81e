// Publishing rules beyond the manifest schema (manifest-authoring.ts): two features of one name would
// have every window refused by the hub, so pack and sign refuse them; a bundle already signed with
// them still verifies, so a box that installed one keeps loading it (hub/src/api/models.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_VERSION_LENGTH, assertAuthoredManifest, authoringProblems } from './manifest-authoring.js';
import { Manifest } from './manifest.js';
import { parseWire } from './common.js';
import { exampleManifest } from '../bundle/testutil.js';
import { packBundle } from '../bundle/write.js';
import { AppError } from '../errors.js';
import { MAX_ORT_THREADS } from '../agent-settings.js';

const FILE = { path: 'model.onnx', sha256: 'a'.repeat(64), size: 1 };
const features = (...names: string[]) => names.map((name, index) => ({ name, index, kind: 'numeric' as const }));
const manifest = (extra: Record<string, unknown>) => parseWire(Manifest, exampleManifest({ files: [FILE], ...extra }), 'manifest');

test('each feature named once passes; a name used twice is named with both positions', () => {
  assert.deepEqual(authoringProblems(manifest({ features: features('a', 'b', 'c', 'd') })), []);
  assert.deepEqual(authoringProblems(manifest({})), []);
  const p = authoringProblems(manifest({ features: features('temp', 'rpm', 'temp', 'rpm') }));
  assert.equal(p.length, 2);
  assert.match(p[0]!, /^features\[0\] and features\[2\] are both named "temp"; expected each name once/);
  assert.match(p[1]!, /^features\[1\] and features\[3\]/);
  const ref = { id: 'b'.repeat(64), rows: 1, features: [0, 1].map(() => ({ name: 'a', kind: 'numeric', edges: [0, 1], counts: [1], moments: { n: 1, mean: 0.5, m2: 0, min: 0.5, max: 0.5 } })), outputs: [] };
  assert.match(authoringProblems(manifest({ features: features('a'), reference: ref }))[0] ?? '', /^reference\.features\[0\] and reference\.features\[1\]/);
  assert.throws(() => assertAuthoredManifest(manifest({ features: features('x', 'x') }), 'm.json'), (e: unknown) =>
    e instanceof AppError && e.code === 'BUNDLE_INVALID' && /^m\.json: features\[0\] and features\[1\]/.test(e.message));
});

// Found by the ML probe: agents read a feature's or an output reference's column by stepping through the
// tensor by its row's length, so a column past the row read other rows' values and past the end (drift
// bins filled with garbage, an output histogram left empty), and a reference named like no feature or
// output was never compared. Each packed, signed and pushed without a word.
test('a column past its tensor, a reference naming no feature or output, or of another kind, is named', () => {
  const numeric = (name: string) => ({ kind: 'numeric', name, edges: [0, 1], counts: [1], moments: { n: 1, mean: 0.5, m2: 0, min: 0.5, max: 0.5 } });
  const io = {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }, { name: 'site', datatype: 'INT64', shape: [-1, 1] }, { name: 'free', datatype: 'FP32', shape: [-1, -1] }],
    outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }, { name: 'label', datatype: 'INT64', shape: [-1] }],
  };
  const good = {
    io,
    features: [...features('temp', 'pressure', 'flow'), { name: 'site', index: 0, input: 'site', kind: 'categorical', vocabulary: ['n', 's'] }, { name: 'wide', index: 99, input: 'free', kind: 'numeric' }],
    reference: { id: 'b'.repeat(64), rows: 1, features: [numeric('temp'), numeric('flow')], outputs: [{ name: 'probs', index: 1, edges: [0, 1], counts: [1] }] },
  };
  assert.deepEqual(authoringProblems(manifest(good)), []);
  const problems = (change: (m: typeof good) => void) => {
    const m = structuredClone(good);
    change(m);
    return authoringProblems(manifest(m));
  };
  assert.deepEqual(problems((m) => { m.features[2]!.index = 7; }), ['features[2] "flow" reads column 7 of input "x" of shape [-1, 3]; expected a column from 0 to 2']);
  assert.deepEqual(problems((m) => { m.features[3]!.index = 1; }), ['features[3] "site" reads column 1 of input "site" of shape [-1, 1]; expected a column from 0 to 0']);
  assert.deepEqual(problems((m) => { m.reference.outputs[0]!.index = 5; }), ['reference.outputs[0] "probs" reads column 5 of output "probs" of shape [-1, 2]; expected an index from 0 to 1']);
  assert.deepEqual(problems((m) => { m.reference.outputs[0]!.name = 'prob'; }), ['reference.outputs[0] is named "prob", which no output is; did you mean "probs"? (expected one of the io outputs "probs", "label")']);
  assert.deepEqual(problems((m) => { m.reference.features[0]!.name = 'tmp'; }), [
    'reference.features[0] is named "tmp", which no feature is; did you mean "temp"? (expected one of "temp", "pressure", "flow", "site", "wide": a feature is compared with the reference of its name)',
  ]);
  assert.deepEqual(problems((m) => { m.reference.features[1] = { kind: 'categorical', name: 'flow', counts: { a: 1 }, other: 0 } as never; }), [
    'reference.features[1] "flow" is categorical but the feature of that name is numeric; expected the same kind',
  ]);
  // A scalar output has one column; a free last dimension is not checked.
  assert.deepEqual(problems((m) => { m.io.outputs[1]!.shape = []; m.reference.outputs.push({ name: 'label', index: 1, edges: [0, 1], counts: [1] }); }), [
    'reference.outputs[1] "label" reads column 1 of output "label" of shape []; expected an index from 0 to 0',
  ]);
  assert.deepEqual(problems((m) => { m.reference.outputs.push({ name: 'label', index: 3, edges: [0, 1], counts: [1] }); }), []);
});

/** packBundle of a stand-in model file into `name` in a temp dir removed after the test. */
function packer(t: { after(fn: () => void): void }, name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ef-authoring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'model.onnx');
  writeFileSync(src, 'not really onnx');
  const out = join(dir, name);
  return { out, pack: (manifest: Record<string, unknown>) => packBundle({ manifest, files: [{ path: 'model.onnx', source: src }], out }) };
}

test('pack refuses two features of one name and writes no bundle', async (t) => {
  const { out, pack } = packer(t, 'dup.efb');
  await assert.rejects(pack(exampleManifest({ features: features('a', 'a', 'b', 'c') })),
    (e: unknown) => e instanceof AppError && e.code === 'BUNDLE_INVALID' && /^manifest: features\[0\] and features\[1\] are both named "a"/.test(e.message));
  assert.equal(existsSync(out), false);
  await pack(exampleManifest({ features: features('a', 'b', 'c', 'd') }));
  assert.equal(existsSync(out), true);
});

// A zod object drops keys it does not know: a misspelt optional field used to pack without a word and
// the bundle carried its default (policy.maxErrRate 0.01 packed as maxErrorRate 0.05).
test('pack refuses a field the manifest schema would drop, naming it and the field most likely meant', async (t) => {
  const { out, pack } = packer(t, 'typo.efb');
  const refused = async (manifest: Record<string, unknown>, message: RegExp) => {
    await assert.rejects(pack(manifest), (e: unknown) => e instanceof AppError && e.code === 'SCHEMA_INVALID' && message.test(e.message));
    assert.equal(existsSync(out), false);
  };
  await refused(exampleManifest({ policy: { maxErrRate: 0.01 } }),
    /^manifest: policy\.maxErrRate: unknown field; did you mean "maxErrorRate"\? \(expected one of maxErrorRate, maxP95LatencyMs, observationWindowSec, minRequests\); such a field would be dropped from the bundle$/);
  await refused(exampleManifest({ featurs: features('a') }), /^manifest: featurs: unknown field; did you mean "features"\?/);
  // A required field misspelt is named as the misspelling, not only as the missing field.
  const { version, ...noVersion } = exampleManifest();
  await refused({ ...noVersion, verison: version }, /^manifest: verison: unknown field; did you mean "version"\?/);
  await refused(exampleManifest({ features: [{ name: 'a', index: 0, kind: 'numeric', unti: 'mm/s' }] }), /^manifest: features\[0\]\.unti: unknown field; did you mean "unit"\?/);
  const moments = { n: 1, mean: 0.5, m2: 0, min: 0.5, max: 0.5 };
  await refused(exampleManifest({ reference: { rows: 1, features: [{ name: 'a', kind: 'numeric', edges: [0, 1], counts: [1], moments, bins: 2 }] } }),
    /^manifest: reference\.features\[0\]\.bins: unknown field \(expected one of kind, name, edges, counts, under, over, moments\)/);
  await refused(exampleManifest({ owner: 'ml-team', io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4], dtype: 'FP32' }], outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 1] }] } }),
    /^manifest: io\.inputs\[0\]\.dtype: unknown field \(expected one of name, datatype, shape\); owner: unknown field \(expected one of schema, name, .*\)/);
  // Records keep every key: free-form hyperparameters and metrics pack as written.
  const r = await pack(exampleManifest({ policy: { maxErrorRate: 0.01 }, provenance: { data: [], training: { code: 't.ts', hyperparameters: { anyName: 1 } }, metrics: { f1: 0.8 }, reason: 'r' } }));
  assert.equal(r.manifest.policy.maxErrorRate, 0.01);
  assert.deepEqual(r.manifest.provenance.training.hyperparameters, { anyName: 1 });
});

test('thread counts past MAX_ORT_THREADS are refused at authoring', () => {
  const rt = (over: Record<string, unknown>) => ({ ...(exampleManifest({ files: [FILE] }) as { runtime: Record<string, unknown> }).runtime, ...over });
  assert.deepEqual(authoringProblems(manifest({ runtime: rt({ intraOpThreads: MAX_ORT_THREADS, interOpThreads: 2 }) })), []);
  assert.deepEqual(authoringProblems(manifest({ runtime: rt({ intraOpThreads: 100_000, interOpThreads: MAX_ORT_THREADS + 1 }) })), [
    `runtime.intraOpThreads is 100000; expected at most ${MAX_ORT_THREADS} threads (more than an edge box has cores: a larger pool only slows the session's creation)`,
    `runtime.interOpThreads is ${MAX_ORT_THREADS + 1}; expected at most ${MAX_ORT_THREADS} threads (more than an edge box has cores: a larger pool only slows the session's creation)`,
  ]);
});

// Found by the ML probe: the manifest schema's version pattern takes "1.0.0-a..b" and "1.0.0-.", which
// the agent's semver comparison refuses; a runtime.minAgentVersion like that was packed, signed, verified,
// pushed and deployed, and every box failed it at install (INVALID_INPUT). A 300-character version
// packed to a bundle name the file system refused (ENAMETOOLONG).
test('a version or runtime.minAgentVersion an agent cannot compare, or a version too long for a file name, is refused at authoring', async (t) => {
  const rt = (min: string) => ({ ...(exampleManifest({ files: [FILE] }) as { runtime: Record<string, unknown> }).runtime, minAgentVersion: min });
  for (const v of ['1.0.0', '1.0.0-rc.1', '1.0.0+build.7', '1.0.0-0.3.7+exp.sha.5114f85', `1.0.0-${'a'.repeat(MAX_VERSION_LENGTH - 6)}`]) {
    assert.deepEqual(authoringProblems(manifest({ version: v, runtime: rt(v) })), [], v);
  }
  const expected = 'expected MAJOR.MINOR.PATCH[-prerelease][+build] with dot-separated identifiers that are not empty, such as 1.2.3 or 1.2.3-rc.1';
  for (const v of ['1.0.0-a..b', '1.0.0-.', '1.0.0-a.']) {
    assert.deepEqual(authoringProblems(manifest({ version: v })), [`version ${JSON.stringify(v)} is not a semantic version an agent can compare; ${expected}`], v);
    assert.deepEqual(authoringProblems(manifest({ runtime: rt(v) })), [
      `runtime.minAgentVersion ${JSON.stringify(v)} is not a semantic version an agent can compare (every agent would refuse the bundle at install); ${expected}`,
    ], v);
  }
  const long = `1.0.0-${'a'.repeat(MAX_VERSION_LENGTH - 5)}`;
  assert.deepEqual(authoringProblems(manifest({ version: long })), [
    `version is ${MAX_VERSION_LENGTH + 1} characters; expected at most ${MAX_VERSION_LENGTH} (the bundle's file name NAME-VERSION.efb must fit a file system's 255 bytes)`,
  ]);
  const { out, pack } = packer(t, 'v.efb');
  await assert.rejects(pack(exampleManifest({ runtime: { opset: 17, minAgentVersion: '0.1.0-a..b' } })),
    (e: unknown) => e instanceof AppError && e.code === 'BUNDLE_INVALID' && /^manifest: runtime\.minAgentVersion "0\.1\.0-a\.\.b" is not a semantic version/.test(e.message));
  assert.equal(existsSync(out), false);
});
