// api.stopGraceMs and the agent's stop budget (docs/agent.md "Stopping"): the setting is bounded by the
// schema at MAX_STOP_GRACE_MS (config-bounds.test.ts refuses one more), and the API's stop step gives
// a request in flight the whole grace it asks for, then closes it, instead of cutting it short at 3 s;
// the grace costs the stop nothing (the API's step is no longer than the hub link's beside it).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { waitFor } from '@edgefleet/examples/fleet';
import { API_CLOSE_MS, STOP_EXIT_MS, STOP_MS, STOP_TOTAL_MS } from './agent.js';
import { openRaw } from './api/raw-client.js';
import { MAX_STOP_GRACE_MS } from './config-bounds.js';
import { startAgent } from './testing.js';

it('the API\'s stop step holds the longest grace the schema allows, inside the stop budget', () => {
  assert.ok(STOP_MS.api >= MAX_STOP_GRACE_MS + API_CLOSE_MS, `API step ${STOP_MS.api} ms < grace ${MAX_STOP_GRACE_MS} ms + closing`);
  assert.ok(STOP_MS.api <= STOP_MS.sync, 'the grace does not lengthen the stop: the hub link\'s step beside it is as long');
  assert.ok(STOP_MS.part + STOP_TOTAL_MS < STOP_EXIT_MS, `the whole stop (${STOP_MS.part + STOP_TOTAL_MS} ms) ends before the forced exit (${STOP_EXIT_MS} ms)`);
});

it('a request in flight gets the whole api.stopGraceMs past 3 s, and the API\'s step ends in time, then the connection is closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-stop-grace-'));
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line); } });
  const grace = 3_100; // past the old, fixed 3 s step
  const agent = await startAgent(join(dir, 'data'), { api: { host: '127.0.0.1', port: 0, requestTimeoutMs: 60_000, stopGraceMs: grace } }, { logger });
  const c = await openRaw(Number(new URL(agent.url).port));
  try {
    await c.write('POST /edgefleet/v1/feedback HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n');
    c.drip('x', 50);
    await waitFor('the body to start arriving', () => c.sent() > 50, { timeoutMs: 2_000, intervalMs: 10 });
    const t0 = performance.now();
    await agent.stop();
    const ms = performance.now() - t0;
    assert.ok(ms >= grace - 50, `stop gave the request in flight its grace (${Math.round(ms)} ms of ${grace})`);
    assert.ok(ms < STOP_MS.api + 1_000, `and ended in time (${Math.round(ms)} ms)`);
    assert.deepEqual(warnings.filter((w) => w.includes('stopping: the API')), [], 'the API\'s step was not cut short');
    await waitFor('the drip-fed connection to be closed', () => c.closed(), { timeoutMs: 1_000, intervalMs: 10 });
  } finally {
    c.destroy();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
