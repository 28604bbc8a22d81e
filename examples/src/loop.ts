// `npm run example:loop`: the loop end to end on a local fleet (issue 11 section 4; docs/drift.md "The
// loop, end to end"): drift alert -> captured data -> retrain (the TypeScript trainer) -> pack -> sign
// -> push -> rollout; the steps are in examples/src/loop/run.ts. It runs through scripts/start.mjs
// (build first, then this module in the same process, so a signal to npm or to node stops the fleet),
// and ends when the rollout completed, or at Ctrl-C, stopping agents, the hub and the receiver.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoop, type LoopOptions } from './loop/run.js';
import { repoRoot } from './testkit/spawn.js';

const USAGE = `usage: npm run example:loop -- [--agents N] [--keep-data] [--data-dir DIR] [--out DIR] [--rate R]
                              [--window-sec S] [--bake-sec S] [--alert-for-sec S]
                              [--capture-requests N] [--step-timeout-sec S]
  --agents N              agents to enroll (default 3: one ring=canary, the rest ring=main)
  --keep-data             leave the data dir (hub.db, agent stores, logs, the capture key) in place
  --data-dir DIR          where the fleet lives (default .data/loop; wiped at start)
  --out DIR               example keys and trust.json (default examples/out); bundles go to DIR/loop
  --rate R                infer requests per second per agent, 4 rows each (default 10)
  --window-sec S          agents' summary window (default 5 s)
  --bake-sec S            the rollout's canary bake (default 20 s; the last wave bakes half as long)
  --alert-for-sec S       how long the drift lasts before the alert fires (default 30 s)
  --capture-requests N    requests captured per drifted device (default 100)
  --step-timeout-sec S    deadline of each wait on the fleet (default 300 s)
`;

function intOpt(v: string | undefined, name: string, min: number): number | null {
  if (v === undefined) return null;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`--${name} ${v}: expected an integer >= ${min}`);
  return Number(v);
}

export function parseLoopOptions(argv: string[]): LoopOptions {
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      agents: { type: 'string' }, 'keep-data': { type: 'boolean' }, 'data-dir': { type: 'string' }, out: { type: 'string' }, rate: { type: 'string' },
      'window-sec': { type: 'string' }, 'bake-sec': { type: 'string' }, 'capture-requests': { type: 'string' }, 'alert-for-sec': { type: 'string' }, 'step-timeout-sec': { type: 'string' },
    },
  });
  const root = repoRoot();
  return {
    agents: intOpt(v.agents, 'agents', 2) ?? 3,
    keepData: v['keep-data'] === true,
    dataDir: resolve(v['data-dir'] ?? join(root, '.data', 'loop')),
    out: resolve(v.out ?? join(root, 'examples', 'out')),
    rate: intOpt(v.rate, 'rate', 1) ?? 10,
    windowSec: intOpt(v['window-sec'], 'window-sec', 1) ?? 5,
    bakeSec: intOpt(v['bake-sec'], 'bake-sec', 1) ?? 20,
    minPredictions: 600,
    driftMinPredictions: null,
    alertForSec: intOpt(v['alert-for-sec'], 'alert-for-sec', 0) ?? 30,
    captureRequests: intOpt(v['capture-requests'], 'capture-requests', 1) ?? 100,
    stepTimeoutSec: intOpt(v['step-timeout-sec'], 'step-timeout-sec', 10) ?? 300,
    small: false,
    log: (line) => void process.stdout.write(`${line}\n`),
  };
}

async function main(): Promise<void> {
  let o: LoopOptions;
  try {
    o = parseLoopOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let signals = 0;
  const stopSignal = new Promise<string>((resolveStop) => {
    const onSignal = (sig: NodeJS.Signals) => {
      // A second Ctrl-C while stopping: give up waiting (children are killed on exit).
      if (++signals > 1) process.exit(130);
      resolveStop(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    const r = await runLoop(o, stopSignal);
    process.stdout.write(`loop result ${JSON.stringify(r)}\n`);
    process.exitCode = 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${/^interrupted/.test(msg) ? msg : `loop failed: ${msg}`}\n`);
    process.exitCode = /^interrupted/.test(msg) ? 130 : 1;
  }
  process.exit();
}

await main();
