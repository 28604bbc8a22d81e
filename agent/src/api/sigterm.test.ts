// The real edgefleet-agent program stops on SIGTERM within its 10 s budget
// while a client drip-feeds a request body (issue 9, docs/security.md): the
// API closes such connections after its stop grace period (default config).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { makeKit, mlpBundle, provision, type Kit } from '../testing.js';
import { openRaw } from './raw-client.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('sigterm', () => {
  const CLI = 'agent/src/cli/main.ts';
  let kit: Kit;
  before(() => { kit = makeKit(); });
  after(() => kit.cleanup());

  it('SIGTERM with a drip-fed request open: exits 0 within 10 s and closes the connection', async () => {
    const d = ['--data-dir', join(kit.dir, 'data')];
    await provision(d[1]!, kit.trust.path, [(await mlpBundle(kit, '1.0.0')).path]);
    const p = startProcess(CLI, ['run', ...d, '--api-port', '0']);
    try {
      const base = (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api;
      const c = await openRaw(Number(new URL(base).port));
      try {
        await c.write('POST /v2/models/mlp/infer HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{"inputs":');
        const head = c.sent();
        c.drip(' ', 100);
        await waitFor('the body to be dripping', () => c.sent() >= head + 3, { timeoutMs: 10_000, intervalMs: 20 });
        // stop() sends SIGKILL if the process is still running after 10 s: a code of 0 means it stopped by itself.
        const exit = await p.stop('SIGTERM', 10_000);
        assert.deepEqual(exit, { code: 0, signal: null }, p.output().stderr.slice(-2000));
        assert.match(p.output().stderr, /"msg":"stopped"/);
        await waitFor('the drip-fed connection to be closed', () => c.closed(), { timeoutMs: 5_000, intervalMs: 20 });
      } finally {
        c.destroy();
      }
    } finally {
      p.kill();
    }
  });
});
