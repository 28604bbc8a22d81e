// Labels answered `counted` survive a kill -9 (docs/agent.md "Feedback", docs/decisions/0122-labels-saved-before-counted.md):
// the real edgefleet-agent daemon answers predictions, saves its open window on its timer, takes labels
// and is killed with SIGKILL as soon as the feedback answer arrives. Its timer checkpoints once an hour
// here, so only the save the feedback endpoint makes before answering can keep them. After the restart
// the same labels are `already_labelled` (the predictions and their marks are kept with the checkpoint,
// feedback/keep.ts): sent again, they do not count twice.
// Before, the probe's 100 labels answered `counted` were gone from the hub after a kill -9.
//
// Labels after a restart (docs/decisions/0135-remembered-predictions-kept.md): killed with SIGKILL once
// its predictions are written (KEEP_INTERVAL_MS), then stopped with SIGTERM right after its predictions,
// each time the next process counts the labels posted for them, once. Rows of feedback_predictions that
// are not the agent's (damaged, foreign) are deleted at start, not served. Before, every label after a
// restart was `unknown` (the memory was in RAM only).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startProcess, type RunningProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import type { SummaryWindow } from '@edgefleet/shared';
import { makeKit, mlpBundle, provision, row, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const LABELS = 20;

describe('labels across a kill -9 and restarts', () => {
  let kit: Kit;
  let cfg: string;
  let dataDir: string;
  const running: RunningProcess[] = [];
  before(async () => {
    kit = makeKit('ef-labels-crash-');
    dataDir = join(kit.dir, 'data');
    const b = await mlpBundle(kit, '1.0.0', { task: { kind: 'classification', output: 'output', classes: ['a', 'b', 'c'] } });
    await provision(dataDir, kit.trust.path, [b.path]);
    cfg = join(kit.dir, 'agent.json');
    // One window a day and a checkpoint an hour: nothing but the feedback endpoint saves the labels.
    writeFileSync(cfg, JSON.stringify({ dataDir, summaries: { windowSec: 86_400, checkpointSec: 3600 } }));
  });
  after(async () => {
    for (const p of running) p.kill();
    await Promise.allSettled(running.map((p) => p.exited));
    kit.cleanup();
  });

  const db = <T>(fn: (d: Database.Database) => T, readonly = true): T => {
    const d = new Database(join(dataDir, 'agent.db'), { readonly });
    try {
      return fn(d);
    } finally {
      d.close();
    }
  };
  const openWindows = () => db((d) => (d.prepare('SELECT COUNT(*) AS n FROM open_windows').get() as { n: number }).n);
  const kept = () => db((d) => (d.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'feedback_predictions'").get() as { n: number }).n
    ? (d.prepare('SELECT COUNT(*) AS n FROM feedback_predictions').get() as { n: number }).n : 0);
  const post = async (url: string, path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const start = async () => {
    const p = startProcess(CLI, ['run', '--config', cfg, '--api-port', '0', '--log-level', 'info']);
    running.push(p);
    return { p, url: (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api };
  };

  const predict = async (url: string, prefix: string) => {
    for (let i = 0; i < LABELS; i++) assert.equal((await post(url, '/v2/models/mlp/infer', { id: `${prefix}${i}`, ...row([i, 1, 2, 3]) })).status, 200);
  };
  const labels = (prefix: string, from = 0, to = LABELS) => Array.from({ length: to - from }, (_, k) => ({ id: `${prefix}${from + k}`, label: (from + k) % 3 }));
  const labelledInWindows = () => db((d) => (d.prepare("SELECT json FROM summary_windows WHERE model = 'mlp'").all() as Array<{ json: string }>)
    .map((w) => JSON.parse(w.json) as SummaryWindow).reduce((n, w) => n + (w.feedback?.labelled ?? 0), 0));

  it('keeps every label answered counted, though the daemon is killed right after the answer', async () => {
    const first = await start();
    await predict(first.url, 'p');
    // The timer's first checkpoint was taken (with some or all of the predictions, or before them on a busy
    // machine: then empty, not written): the next is an hour away. The predictions written by the keeper's
    // timer say so too: it started after the recorder's, with the same 1 s interval, so it fires after it.
    await waitFor('the first checkpoint', () => openWindows() > 0 || kept() === LABELS, { timeoutMs: 15_000, intervalMs: 50 });
    const items = labels('p');
    const answer = await post(first.url, '/edgefleet/v1/feedback', { items });
    first.p.kill();
    await first.p.exited;
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.counted, LABELS);

    const second = await start();
    const again = await post(second.url, '/edgefleet/v1/feedback', { items });
    // Written with the checkpoint that answered them, their marks too: not counted a second time.
    assert.equal(again.json.alreadyLabelled, LABELS, JSON.stringify(again.json));
    assert.equal((await second.p.stop('SIGTERM')).code, 0);

    const windows = db((d) => (d.prepare("SELECT json FROM summary_windows WHERE model = 'mlp'").all() as Array<{ json: string }>).map((w) => JSON.parse(w.json) as SummaryWindow));
    assert.equal(windows.reduce((n, w) => n + (w.feedback?.labelled ?? 0), 0), LABELS, 'every label answered counted is stored');
    assert.equal(windows.reduce((n, w) => n + w.count, 0), LABELS, 'and the predictions, saved with them');
  });

  it('a kill -9 after the predictions were written: their labels count after the restart, and those counted before count once', async () => {
    const base = kept();
    const labelledBefore = labelledInWindows();
    const first = await start();
    await predict(first.url, 'k');
    await waitFor('the predictions written to agent.db', () => kept() === base + LABELS, { timeoutMs: 15_000, intervalMs: 50 });
    const half = await post(first.url, '/edgefleet/v1/feedback', { items: labels('k', 0, LABELS / 2) });
    first.p.kill();
    await first.p.exited;
    assert.equal(half.json.counted, LABELS / 2);

    const second = await start();
    const all = await post(second.url, '/edgefleet/v1/feedback', { items: labels('k') });
    assert.equal(all.status, 200, JSON.stringify(all.json));
    assert.deepEqual([all.json.counted, all.json.alreadyLabelled, all.json.unknown], [LABELS / 2, LABELS / 2, 0], JSON.stringify(all.json));
    assert.equal((await second.p.stop('SIGTERM')).code, 0);
    assert.equal(labelledInWindows(), labelledBefore + LABELS, 'each label counted once over both runs (the first run\'s from its checkpoint)');
  });

  it('a SIGTERM right after the predictions: their labels count after the restart; rows that are not the agent\'s are deleted, not served', async () => {
    const base = kept();
    const first = await start();
    await predict(first.url, 't');
    assert.equal((await first.p.stop('SIGTERM')).code, 0);
    assert.equal(kept(), base + LABELS, 'the stop wrote what the timer had not');
    // Rows a damaged file or another program could leave: a blob of the wrong size, a task that is not
    // there, a class index past the model's classes, an id past maxIdLength, a row marked 7.
    db((d) => {
      const task = (d.prepare('SELECT task FROM feedback_predictions LIMIT 1').get() as { task: number }).task;
      const ins = d.prepare('INSERT INTO feedback_predictions (id, task, at, predicted, labelled) VALUES (?, ?, ?, ?, ?)');
      const one = (v: number) => Buffer.from(new Float64Array([v]).buffer);
      ins.run('bad-blob', task, Date.now(), Buffer.from([1, 2, 3]), Buffer.from([0]));
      ins.run('no-task', task + 1000, Date.now(), one(0), Buffer.from([0]));
      ins.run('bad-class', task, Date.now(), one(7), Buffer.from([0]));
      ins.run('x'.repeat(300), task, Date.now(), one(0), Buffer.from([0]));
      ins.run('bad-mark', task, Date.now(), one(0), Buffer.from([7]));
      ins.run('text-blob', task, Date.now(), 'zzzzzzzz', Buffer.from([0]));
    }, false);

    const second = await start();
    const all = await post(second.url, '/edgefleet/v1/feedback', { items: [...labels('t'), ...['bad-blob', 'no-task', 'bad-class', 'bad-mark', 'text-blob'].map((id) => ({ id, label: 0 }))] });
    assert.equal(all.status, 200, JSON.stringify(all.json));
    assert.deepEqual([all.json.counted, all.json.unknown], [LABELS, 5], JSON.stringify(all.json));
    assert.equal((await second.p.stop('SIGTERM')).code, 0);
    assert.equal(kept(), base + LABELS, 'the foreign rows were deleted');
    const { stdout, stderr } = second.p.output();
    // The id too long for maxIdLength reads as a row, one past a bound (as after lowering it): forgotten.
    assert.match(stdout + stderr, new RegExp(`"restored":${base + LABELS},"unreadable":5,"forgotten":1`), 'and counted in the log');
  });
});
