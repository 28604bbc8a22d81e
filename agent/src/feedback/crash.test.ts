// Labels answered `counted` survive a kill -9 (docs/agent.md "Feedback", docs/decisions/0122-labels-saved-before-counted.md):
// the real edgefleet-agent daemon answers predictions, saves its open window on its timer, takes labels
// and is killed with SIGKILL as soon as the feedback answer arrives. Its timer checkpoints once an hour
// here, so only the save the feedback endpoint makes before answering can keep them. After the restart
// the same labels are `unknown` (the predictions were in memory): the app could not have sent them again.
// Before, the probe's 100 labels answered `counted` were gone from the hub after a kill -9.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, startProcess, type RunningProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import type { SummaryWindow } from '@edgefleet/shared';
import { makeKit, mlpBundle, row, type Kit } from '../testing.js';

const CLI = 'agent/src/cli/main.ts';
const LABELS = 20;

describe('labels across a kill -9', () => {
  let kit: Kit;
  let cfg: string;
  let dataDir: string;
  const running: RunningProcess[] = [];
  before(async () => {
    kit = makeKit('ef-labels-crash-');
    dataDir = join(kit.dir, 'data');
    const d = ['--data-dir', dataDir];
    assert.equal((await runCli(CLI, ['trust', 'set', kit.trust.path, ...d])).code, 0);
    const b = await mlpBundle(kit, '1.0.0', { task: { kind: 'classification', output: 'output', classes: ['a', 'b', 'c'] } });
    const i = await runCli(CLI, ['install', b.path, ...d]);
    assert.equal(i.code, 0, i.stderr);
    cfg = join(kit.dir, 'agent.json');
    // One window a day and a checkpoint an hour: nothing but the feedback endpoint saves the labels.
    writeFileSync(cfg, JSON.stringify({ dataDir, summaries: { windowSec: 86_400, checkpointSec: 3600 } }));
  });
  after(async () => {
    for (const p of running) p.kill();
    await Promise.allSettled(running.map((p) => p.exited));
    kit.cleanup();
  });

  const openWindows = () => {
    const db = new Database(join(dataDir, 'agent.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM open_windows').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const post = async (url: string, path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const start = async () => {
    const p = startProcess(CLI, ['run', '--config', cfg, '--api-port', '0', '--log-level', 'info']);
    running.push(p);
    return { p, url: (JSON.parse(await p.waitForLine(/"msg":"ready"/)) as { api: string }).api };
  };

  it('keeps every label answered counted, though the daemon is killed right after the answer', async () => {
    const first = await start();
    for (let i = 0; i < LABELS; i++) assert.equal((await post(first.url, '/v2/models/mlp/infer', { id: `p${i}`, ...row([i, 1, 2, 3]) })).status, 200);
    // The timer's first checkpoint was taken (with some or all of the predictions): the next is an hour away.
    await waitFor('the predictions checkpointed', () => openWindows() > 0, { timeoutMs: 15_000, intervalMs: 50 });
    const items = Array.from({ length: LABELS }, (_, i) => ({ id: `p${i}`, label: i % 3 }));
    const answer = await post(first.url, '/edgefleet/v1/feedback', { items });
    first.p.kill();
    await first.p.exited;
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.counted, LABELS);

    const second = await start();
    const again = await post(second.url, '/edgefleet/v1/feedback', { items });
    assert.equal(again.json.unknown, LABELS, 'the predictions were forgotten with the process: the labels cannot be sent again');
    assert.equal((await second.p.stop('SIGTERM')).code, 0);

    const db = new Database(join(dataDir, 'agent.db'), { readonly: true });
    const windows = (db.prepare("SELECT json FROM summary_windows WHERE model = 'mlp'").all() as Array<{ json: string }>).map((w) => JSON.parse(w.json) as SummaryWindow);
    db.close();
    assert.equal(windows.reduce((n, w) => n + (w.feedback?.labelled ?? 0), 0), LABELS, 'every label answered counted is stored');
    assert.equal(windows.reduce((n, w) => n + w.count, 0), LABELS, 'and the predictions, saved with them');
  });
});
