// startAgents (agents.ts) with real agent processes on empty data dirs (no credentials: they serve
// locally and log "ready"): the handles come in the order given, and when one cannot start, the
// others are stopped and its error is thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgents, stoppedLine, type AgentHandle } from './agents.js';

test('startAgents: handles in the order given; one that cannot start stops the others and is thrown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-start-agents-'));
  const seen: AgentHandle[] = [];
  t.after(async () => {
    await Promise.allSettled(seen.map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const two = await startAgents([{ dataDir: join(dir, 'a') }, { dataDir: join(dir, 'b') }]);
  seen.push(...two);
  assert.deepEqual(two.map((a) => a.dataDir), [join(dir, 'a'), join(dir, 'b')]);
  assert.ok(two.every((a) => a.url.startsWith('http://127.0.0.1:')), two.map((a) => a.url).join(', '));
  await Promise.all(two.map((a) => a.stop()));

  // 'c' starts, 'bad' cannot (its config is refused): the error is thrown once 'c' was stopped, so a
  // second agent on c's data dir starts (a data dir takes one running agent: its run lock).
  const bad = { dataDir: join(dir, 'bad'), config: { summaries: { windowSec: 'soon' } } };
  await assert.rejects(startAgents([{ dataDir: join(dir, 'c') }, bad]), /windowSec/);
  const [again] = await startAgents([{ dataDir: join(dir, 'c') }]);
  seen.push(again!);
  assert.equal(again!.dataDir, join(dir, 'c'));
});

test('stoppedLine: the fleet says it stopped only what it started (a refused --data-dir started nothing)', () => {
  assert.equal(stoppedLine([], undefined), undefined);
  assert.equal(stoppedLine([], 0), 'stopped cleanly (0 agent(s), hub)');
  assert.equal(stoppedLine([0, 0, 0], 0), 'stopped cleanly (3 agent(s), hub)');
  assert.equal(stoppedLine([0, 1], 0), 'stopped; exit codes: agents 0,1, hub 0');
  assert.equal(stoppedLine([], 1), 'stopped; exit codes: agents -, hub 1');
});
