// A long run on the wasm backend (docs/agent.md "Runtime", decision 0125): the real edgefleet-agent program
// with runtime.backend wasm, a model whose run computes for tens of seconds, and a request running on it.
// The agent answers its liveness probe and its metrics during the run and, SIGTERMed, is gone within the
// 10 s docs/agent.md "Stopping" promises. Before, onnxruntime-web computed on the agent's own thread: the
// probe waited for the run's end (19.5 s of a 20 s run) and so did the signal (exit 19.6 s after SIGTERM).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromOnnx, runCli, startProcess, waitFor } from '@edgefleet/examples';
import { makeKit, req, type Kit } from '../testing.js';
import { slowModel } from './testing/fixtures.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('wasm-long-run', () => {
  const CLI = 'agent/src/cli/main.ts';
  /** docs/agent.md "Stopping": SIGTERM, and the agent is gone within 10 s whatever it was doing. */
  const GONE_WITHIN_MS = 10_000;
  const ROWS = 2048;
  let kit: Kit;
  before(() => { kit = makeKit('ef-wasm-long-'); });
  after(() => kit.cleanup());

  it('a long wasm run leaves the agent answering its probes, and SIGTERM stops it within 10 s', { timeout: 240_000 }, async () => {
    const config = join(kit.dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ dataDir: 'data', runtime: { backend: 'wasm' }, api: { port: 0 } }));
    const c = ['--config', config];
    assert.equal((await runCli(CLI, ['trust', 'set', kit.trust.path, ...c])).code, 0);
    const m = slowModel(80);
    const bundle = await bundleFromOnnx({ dir: join(kit.dir, 'b'), onnx: m.onnx, name: 'slow', version: '1.0.0', io: m.io, keys: kit.keys });
    const i = await runCli(CLI, ['install', bundle.path, ...c]);
    assert.equal(i.code, 0, i.stderr);

    const p = startProcess(CLI, ['run', ...c]);
    try {
      const base = (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api;
      let settled: string | undefined;
      const long = fetch(`${base}/v2/models/slow/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 1024], data: new Array<number>(ROWS * 1024).fill(1) }] }),
      }).then((r) => { settled = `answered ${r.status}`; }, (err: Error) => { settled = `cut: ${err.message}`; });
      // Its tensors are held once it is parsed, and it runs at once (no other request waits for the slot).
      const held = /^edgefleet_agent_request_bytes\{kind="tensors"\} (\d+)$/m;
      await waitFor('the long request running', async () => Number(held.exec((await req(base, 'GET', '/metrics')).text)?.[1] ?? 0) > 0, { timeoutMs: 60_000 });
      const live = await req(base, 'GET', '/v2/health/live');
      assert.equal(live.status, 200);
      assert.equal(settled, undefined, 'the probe was answered while the run computed, not after it');

      const t0 = performance.now();
      const exit = await Promise.race([p.stop('SIGTERM', 120_000), new Promise<'late'>((r) => setTimeout(() => r('late'), GONE_WITHIN_MS).unref())]);
      const ms = Math.round(performance.now() - t0);
      assert.notEqual(exit, 'late', `still running ${GONE_WITHIN_MS} ms after SIGTERM during a wasm run:\n${p.output().stderr.slice(-2000)}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `exit after ${ms} ms:\n${p.output().stderr.slice(-2000)}`);
      assert.match(p.output().stderr, /"msg":"stopped"/);
      await long;
      assert.match(settled ?? '', /^cut/, 'the request whose run was under way is cut, as docs/agent.md "Stopping" says');
    } finally {
      p.kill();
    }
  });
});
