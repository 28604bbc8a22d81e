// Lose seconds, not windows (docs/agent-summaries.md "Crashes"): the real edgefleet-agent daemon
// under steady traffic from this test is killed with SIGKILL several times and restarted each time
// (one 60 s window spans every life, so without the checkpoint nearly everything would be lost).
// Afterwards the stored summaries hold every answered prediction except, per kill, at most those
// answered in the last checkpoint interval (plus one timer period) before it, and never more than
// were answered (plus requests cut off in flight by a kill, which may have been counted).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startProcess, type RunningProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { makeKit, mlpBundle, provision, row, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const CHECKPOINT_SEC = 1;
/** The recorder's timer period: a checkpoint is taken on the first tick after the interval. */
const TICK_MS = 1000;
const KILLS = 5;
/** Answers to wait for in each life before the kill, varied per life. */
const ANSWERS_PER_LIFE = [300, 700, 450, 900, 550];
/**
 * And the least each life lasts before its kill, so each life takes a checkpoint whatever the box's rate
 * (a fast box answered all of a life's requests within one checkpoint interval: nothing to recover).
 */
const MIN_LIFE_MS = CHECKPOINT_SEC * 1000 + TICK_MS + 1000;
const CONCURRENCY = 3;

interface Life {
  answeredAt: number[];
  inFlight: number;
  failed: number;
}

/** Sends infer requests (one row each) to `url` with CONCURRENCY in flight until stopped. */
function traffic(url: string) {
  const life: Life = { answeredAt: [], inFlight: 0, failed: 0 };
  let stopped = false;
  const one = async (): Promise<void> => {
    while (!stopped) {
      life.inFlight++;
      try {
        const res = await fetch(`${url}/v2/models/mlp/infer`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(row([1, 2, 3, 4])), signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        if (res.status === 200) life.answeredAt.push(Date.now());
        else life.failed++;
      } catch {
        life.failed++;
        if (!stopped) await new Promise((r) => setTimeout(r, 20));
      } finally {
        life.inFlight--;
      }
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, () => one());
  return {
    life,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('repeated kill -9 of the agent under traffic', () => {
  let kit: Kit;
  let cfg: string;
  let dataDir: string;
  const running: RunningProcess[] = [];
  before(async () => {
    kit = makeKit('ef-crash-');
    dataDir = join(kit.dir, 'data');
    await provision(dataDir, kit.trust.path, [(await mlpBundle(kit, '1.0.0')).path]);
    cfg = join(kit.dir, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ dataDir, summaries: { windowSec: 60, checkpointSec: CHECKPOINT_SEC } }));
  });
  after(async () => {
    for (const p of running) p.kill();
    await Promise.allSettled(running.map((p) => p.exited));
    kit.cleanup();
  });

  it(`loses at most ${CHECKPOINT_SEC} s (+ one tick) of predictions per kill, and counts none twice`, async (ctx) => {
    let answered = 0;
    let mayLose = 0;
    let cutOff = 0;
    let recoveredLines = 0;
    for (let life = 0; life <= KILLS; life++) {
      const p = startProcess(CLI, ['run', '--config', cfg, '--api-port', '0', '--log-level', 'info']);
      running.push(p);
      const url = (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api;
      const bornAt = Date.now();
      const t = traffic(url);
      try {
        if (life < KILLS) {
          const want = ANSWERS_PER_LIFE[life]!;
          await waitFor(`life ${life}: ${want} answers and ${MIN_LIFE_MS} ms`, () => t.life.answeredAt.length >= want && Date.now() - bornAt >= MIN_LIFE_MS, { timeoutMs: 30_000, intervalMs: 20 });
          const killedAt = Date.now();
          cutOff += t.life.inFlight;
          p.kill();
          await p.exited;
          // What the kill may take: answers after the last checkpoint, which is at most the interval + a tick old.
          mayLose += t.life.answeredAt.filter((at) => at > killedAt - CHECKPOINT_SEC * 1000 - TICK_MS).length;
        } else {
          await waitFor(`last life: 300 answers`, () => t.life.answeredAt.length >= 300, { timeoutMs: 30_000, intervalMs: 20 });
        }
      } finally {
        await t.stop();
      }
      if (life === KILLS) assert.equal((await p.stop('SIGTERM')).code, 0, 'the last life stops cleanly (writing its open window)');
      answered += t.life.answeredAt.length;
      const out = p.output();
      recoveredLines += (out.stdout + out.stderr).split('\n').filter((l) => l.includes('recovered the open summary windows')).length;
    }
    const db = new Database(join(dataDir, 'agent.db'), { readonly: true });
    let stored: number;
    let left: number;
    try {
      stored = (db.prepare("SELECT COALESCE(SUM(count), 0) AS n FROM summary_windows WHERE model = 'mlp'").get() as { n: number }).n;
      left = (db.prepare('SELECT COUNT(*) AS n FROM open_windows').get() as { n: number }).n;
    } finally {
      db.close();
    }
    const report = `answered ${answered}, stored ${stored}, allowed loss ${mayLose}, cut off in flight ${cutOff}`;
    ctx.diagnostic(report);
    assert.ok(recoveredLines >= 1, `no restart recovered a checkpoint (${report})`);
    assert.ok(stored >= answered - mayLose, `lost more than the checkpoint interval per kill: ${report}`);
    assert.ok(stored <= answered + cutOff, `counted predictions twice: ${report}`);
    assert.equal(left, 0, 'a clean stop leaves no checkpoint behind');
  });
});
