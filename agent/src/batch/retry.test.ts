// A batch that fails as a whole is retried row by row (docs/agent-summaries.md "CLI", batch): each row
// gets its own outputs or its own error, and runs on the values it was given, in the input's datatype.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared/core';
import { Manifest, parseWire } from '@edgefleet/shared';
import type { RecordedTensor } from '../runtime/recorder.js';
import { tabularManifest } from '../summaries/fixtures.js';
import { runBatch, type BatchModel } from './run.js';

/**
 * A model that refuses any run of more than one row (as onnxruntime refuses a batch one bad row breaks)
 * and a row whose first value is 3; otherwise it answers each row's first two values as its output `y`.
 */
function echoModel(datatype: 'FP32' | 'FP64'): BatchModel & { runs: RecordedTensor[] } {
  const base = tabularManifest({ name: 'echo' });
  const manifest = parseWire(Manifest, { ...base, io: { inputs: [{ name: 'x', datatype, shape: [-1, 3] }], outputs: [{ name: 'y', datatype, shape: [-1, 2] }] } }, 'echo manifest');
  const runs: RecordedTensor[] = [];
  return {
    name: 'echo', version: '1.0.0', manifest, runs,
    run(feeds) {
      const x = feeds[0]!;
      runs.push(x);
      if (x.shape[0] !== 1) return Promise.reject(new AppError('INFERENCE_FAILED', `a batch of ${x.shape[0]} rows failed`));
      if (x.data[0] === 3) return Promise.reject(new AppError('INFERENCE_FAILED', 'this row fails alone'));
      const y = datatype === 'FP64' ? Float64Array.from([x.data[0] as number, x.data[1] as number]) : Float32Array.from([x.data[0] as number, x.data[1] as number]);
      return Promise.resolve([{ name: 'y', datatype, shape: [1, 2], data: y }]);
    },
  };
}

describe('batch retry after a failed batch', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-batch-retry-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const datatype of ['FP64', 'FP32'] as const) {
    it(`${datatype}: every row rerun alone on its own values, the failing row alone gets the error`, async () => {
      const input = join(dir, `in-${datatype}.csv`);
      writeFileSync(input, 'f0,f1,f2\n0.1,0.7,a\n3,1,b\n1e-300,2.5,c\n');
      const output = join(dir, `out-${datatype}.jsonl`);
      const model = echoModel(datatype);
      const r = await runBatch({ model, input, output, batchSize: 8 });
      assert.deepEqual([r.rows, r.errors], [3, 1]);
      assert.deepEqual(model.runs.map((t) => [t.datatype, t.shape]), [[datatype, [3, 3]], [datatype, [1, 3]], [datatype, [1, 3]], [datatype, [1, 3]]]);
      const rows = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; outputs?: { y: number[] }; error?: { code: string; message: string } });
      const f = datatype === 'FP64' ? (v: number) => v : Math.fround;
      // FP64 rows once ran through a Float32Array when retried: 0.1 came back as 0.10000000149011612 and 1e-300 as 0.
      assert.deepEqual(rows[0]!.outputs!.y, [f(0.1), f(0.7)]);
      assert.deepEqual(rows[2]!.outputs!.y, [f(1e-300), 2.5]);
      assert.deepEqual(rows[1]!.error, { code: 'INFERENCE_FAILED', message: 'line 3: this row fails alone' });
    });
  }
});
