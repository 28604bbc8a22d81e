// Publishing rules beyond the manifest schema (manifest-authoring.ts): two features of one name would
// have every window refused by the hub, so pack and sign refuse them; a bundle already signed with
// them still verifies, so a box that installed one keeps loading it (hub/src/api/models.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertAuthoredManifest, authoringProblems } from './manifest-authoring.js';
import { Manifest } from './manifest.js';
import { parseWire } from './common.js';
import { exampleManifest } from '../bundle/testutil.js';
import { packBundle } from '../bundle/write.js';
import { AppError } from '../errors.js';

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

test('pack refuses two features of one name and writes no bundle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-authoring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'model.onnx');
  writeFileSync(src, 'not really onnx');
  const out = join(dir, 'dup.efb');
  await assert.rejects(packBundle({ manifest: exampleManifest({ features: features('a', 'a', 'b', 'c') }), files: [{ path: 'model.onnx', source: src }], out }),
    (e: unknown) => e instanceof AppError && e.code === 'BUNDLE_INVALID' && /^manifest: features\[0\] and features\[1\] are both named "a"/.test(e.message));
  assert.equal(existsSync(out), false);
  await packBundle({ manifest: exampleManifest({ features: features('a', 'b', 'c', 'd') }), files: [{ path: 'model.onnx', source: src }], out });
  assert.equal(existsSync(out), true);
});
