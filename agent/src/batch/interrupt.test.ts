// An `edgefleet-agent batch` stopped mid-run by SIGTERM or SIGINT (docs/agent-summaries.md "CLI"): the real
// program on an input large enough to be stopped while it writes, as an operator's Ctrl-C or a
// supervisor's stop would. It says it stopped and that nothing was written, exits 128 + the signal's
// number, and leaves neither the output nor its OUT.tmp behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, waitFor } from '@edgefleet/examples';
import { makeDataDir } from './testing.js';

const ROWS = 400_000;

describe('batch stopped by a signal', () => {
  let dir: string;
  let data: string;
  let input: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-batch-stop-'));
    data = join(dir, 'data');
    makeDataDir(data);
    input = join(dir, 'rows.jsonl');
    writeFileSync(input, Array.from({ length: ROWS }, (_, i) => JSON.stringify({ f0: i % 7, f1: 1, f2: 'a' })).join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal}: "stopped: … nothing written" on stderr, exit ${code}, no OUT.tmp left`, async () => {
      const output = join(dir, `out-${signal}.jsonl`);
      const p = startProcess('agent/src/cli/main.ts', ['batch', '--model', 'tab', '--input', input, '--output', output, '--data-dir', data]);
      try {
        await waitFor('the output being written', () => existsSync(`${output}.tmp`) && statSync(`${output}.tmp`).size > 0, { timeoutMs: 30_000 });
        const end = await p.stop(signal, 15_000);
        const { stderr } = p.output();
        assert.equal(end.code, code, stderr);
        assert.match(stderr, new RegExp(`^stopped: ${signal} received: nothing written to ${output.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(its \\.tmp was removed\\)\\n$`));
        assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(`out-${signal}`)), [], 'neither the output nor its .tmp');
      } finally {
        p.kill();
      }
    });
  }
});
