// The real edgefleet-agent program's stderr stays JSON log lines when onnxruntime fails a run: a model
// that reshapes [-1, 4] to [2, 2] warms up on one row and fails on two, and native onnxruntime printed
// a coloured error line of its own for every such request (docs/agent.md "Configuration", log.level).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startProcess } from '@edgefleet/examples';
import { makeKit, provision, req, reshapeBundle, type Kit } from '../testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('ort-log', () => {
  const CLI = 'agent/src/cli/main.ts';
  let kit: Kit;
  before(() => { kit = makeKit(); });
  after(() => kit.cleanup());

  it('keeps stderr to JSON lines when onnxruntime fails a run (the native backend)', async () => {
    const d = ['--data-dir', join(kit.dir, 'data')];
    await provision(d[1]!, kit.trust.path, [(await reshapeBundle(kit)).path]);
    const p = startProcess(CLI, ['run', ...d, '--api-port', '0']);
    try {
      const base = (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api;
      const r = await req(base, 'POST', '/v2/models/reshape/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] });
      assert.deepEqual([r.status, r.json.code], [500, 'INFERENCE_FAILED'], r.text);
      assert.match(r.json.error, /Reshape/, 'the answer keeps onnxruntime\'s reason');
      assert.deepEqual(await p.stop('SIGTERM', 10_000), { code: 0, signal: null });
      const lines = p.output().stderr.split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length > 0);
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line.slice(0, 300)}`);
    } finally {
      p.kill();
    }
  });
});
