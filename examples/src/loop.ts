// `npm run example:loop`: the loop end to end on a local fleet (issue 11 section 4; docs/drift.md "The
// loop, end to end"): drift alert -> captured data -> retrain (the TypeScript trainer) -> pack -> sign
// -> push -> rollout; the steps are in examples/src/loop/run.ts. It runs through scripts/start.mjs
// (build first, then this module in the same process, so a signal to npm or to node stops the fleet),
// and ends when the rollout completed, or at Ctrl-C, stopping agents, the hub and the receiver.
import { join, resolve } from 'node:path';
import { UsageError, optBool, optInt, optString, type OptionSpec, type ParsedArgs } from '@edgefleet/shared/cli';
import { exampleMain } from './example-main.js';
import { runLoop, type LoopOptions } from './loop/run.js';
import { repoRoot } from './testkit/spawn.js';

// The command line follows the one convention of the edgefleet programs (docs/cli.md), as `npm start` does.
const LOOP_OPTIONS: Record<string, OptionSpec> = {
  agents: { type: 'integer', value: 'N', description: 'agents to enroll, at least 2 (default 3: one ring=canary, the rest ring=main)' },
  'keep-data': { type: 'boolean', description: 'leave the data dir (hub.db, agent stores, logs, the capture key) in place' },
  'data-dir': { type: 'string', value: 'DIR', description: 'where the fleet lives (default .data/loop; wiped at start)' },
  out: { type: 'string', value: 'DIR', description: 'example keys and trust.json (default examples/out); bundles go to DIR/loop' },
  rate: { type: 'integer', positive: true, value: 'R', description: 'infer requests per second per agent, 4 rows each (default 10)' },
  'window-sec': { type: 'integer', positive: true, value: 'S', description: "agents' summary window (default 5 s)" },
  'bake-sec': { type: 'integer', positive: true, value: 'S', description: "the rollout's canary bake (default 20 s; the last wave bakes half as long)" },
  'alert-for-sec': { type: 'integer', value: 'S', description: 'how long the drift lasts before the alert fires (default 30 s)' },
  'capture-requests': { type: 'integer', positive: true, value: 'N', description: 'requests captured per drifted device (default 100)' },
  'step-timeout-sec': { type: 'integer', value: 'S', description: 'deadline of each wait on the fleet, at least 10 (default 300 s)' },
};

/** An integer option of at least `min` (the parser checked its digits), or `fallback`. */
function atLeast(args: ParsedArgs, name: string, min: number, fallback: number): number {
  const v = optInt(args, name);
  if (v !== undefined && v < min) throw new UsageError(`--${name}: expected an integer of at least ${min}, got ${v}`);
  return v ?? fallback;
}

/** The loop's options from a command line parsed by LOOP_OPTIONS. */
export function parseLoopOptions(args: ParsedArgs): LoopOptions {
  const root = repoRoot();
  const dataDir = optString(args, 'data-dir');
  const out = optString(args, 'out');
  return {
    agents: atLeast(args, 'agents', 2, 3),
    keepData: optBool(args, 'keep-data'),
    dataDir: resolve(dataDir ?? join(root, '.data', 'loop')),
    out: resolve(out ?? join(root, 'examples', 'out')),
    rate: optInt(args, 'rate') ?? 10,
    windowSec: optInt(args, 'window-sec') ?? 5,
    bakeSec: optInt(args, 'bake-sec') ?? 20,
    minPredictions: 600,
    driftMinPredictions: null,
    alertForSec: optInt(args, 'alert-for-sec') ?? 30,
    captureRequests: optInt(args, 'capture-requests') ?? 100,
    stepTimeoutSec: atLeast(args, 'step-timeout-sec', 10, 300),
    small: false,
    log: (line) => void process.stdout.write(`${line}\n`),
  };
}

await exampleMain({
  name: 'npm run example:loop --', summary: 'Run the loop on a local fleet: drift alert, capture, retrain, sign, push, rollout (docs/drift.md)',
  options: LOOP_OPTIONS, parse: parseLoopOptions, failed: 'loop failed',
  async run(o, stopSignal) {
    const r = await runLoop(o, stopSignal);
    process.stdout.write(`loop result ${JSON.stringify(r)}\n`);
    return 0;
  },
});
