// The command lines of `npm start` and `npm run example:loop`: their options and how they are read, by
// the one convention of the edgefleet programs (docs/cli.md: --help, a mistyped option with "did you
// mean", `error [BAD_REQUEST]: ...` and exit 2 for a bad command line). Apart from the examples they
// start, so scripts/start.mjs checks a command line from source before it builds (check-command-line.ts).
import { join, resolve } from 'node:path';
import { UsageError, optBool, optInt, optString, type OptionSpec, type ParsedArgs } from '@edgefleet/shared/cli';
import type { ExampleCommandLine } from './example-main.js';
import type { LoopOptions } from './loop/run.js';
import { repoRoot } from './testkit/spawn.js';

const FLEET_OPTIONS: Record<string, OptionSpec> = {
  agents: { type: 'integer', positive: true, value: 'N', description: 'agents to enroll (default 4: one ring=canary, the rest ring=main)' },
  seconds: { type: 'integer', positive: true, value: 'S', description: 'stop by itself S seconds after the rollouts ended (default: run until Ctrl-C)' },
  'keep-data': { type: 'boolean', description: 'leave the data dir (hub.db, agent stores, logs) in place after stopping' },
  'data-dir': { type: 'string', value: 'DIR', description: 'where the fleet lives (default .data/fleet; new, empty or made by an earlier run: wiped at start)' },
  'http-port': { type: 'integer', value: 'P', description: 'hub HTTP port (default 8700, or a free one if taken)' },
  'mqtt-port': { type: 'integer', value: 'P', description: 'hub MQTT port (default 1883, or a free one if taken)' },
  'window-sec': { type: 'integer', positive: true, value: 'S', description: "agents' summary window (default 10 s, so the hub's numbers move)" },
  rate: { type: 'integer', positive: true, value: 'R', description: 'infer requests per second per agent (default 5)' },
  'bake-sec': { type: 'integer', positive: true, value: 'S', description: "each rollout's canary bake (default 20 s; the last wave bakes half as long)" },
  out: { type: 'string', value: 'DIR', description: 'where the example keys, trust.json and bundles go (default examples/out)' },
};

export interface FleetOptions {
  agents: number; seconds: number | null; keepData: boolean; dataDir: string; httpPort: number | null; mqttPort: number | null;
  windowSec: number; rate: number; bakeSec: number; out: string;
}

/** The fleet's options from a command line parsed by FLEET_OPTIONS. */
function parseFleetOptions(args: ParsedArgs): FleetOptions {
  const root = repoRoot();
  const dataDir = optString(args, 'data-dir');
  const out = optString(args, 'out');
  return {
    agents: optInt(args, 'agents') ?? 4,
    seconds: optInt(args, 'seconds') ?? null,
    keepData: optBool(args, 'keep-data'),
    dataDir: resolve(dataDir ?? join(root, '.data', 'fleet')),
    httpPort: optInt(args, 'http-port') ?? null,
    mqttPort: optInt(args, 'mqtt-port') ?? null,
    windowSec: optInt(args, 'window-sec') ?? 10,
    rate: optInt(args, 'rate') ?? 5,
    bakeSec: optInt(args, 'bake-sec') ?? 20,
    out: resolve(out ?? join(root, 'examples', 'out')),
  };
}

const LOOP_OPTIONS: Record<string, OptionSpec> = {
  agents: { type: 'integer', value: 'N', description: 'agents to enroll, at least 2 (default 3: one ring=canary, the rest ring=main)' },
  'keep-data': { type: 'boolean', description: 'leave the data dir (hub.db, agent stores, logs, the capture key) in place' },
  'data-dir': { type: 'string', value: 'DIR', description: 'where the fleet lives (default .data/loop; new, empty or made by an earlier run: wiped at start)' },
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
function parseLoopOptions(args: ParsedArgs): LoopOptions {
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

export const FLEET_COMMAND_LINE: ExampleCommandLine<FleetOptions> = {
  name: 'npm start --', summary: 'Run a local fleet: a hub, agents, and the example model deployed and rolled out (docs/fleet.md)',
  options: FLEET_OPTIONS, parse: parseFleetOptions,
};

export const LOOP_COMMAND_LINE: ExampleCommandLine<LoopOptions> = {
  name: 'npm run example:loop --', summary: 'Run the loop on a local fleet: drift alert, capture, retrain, sign, push, rollout (docs/drift.md)',
  options: LOOP_OPTIONS, parse: parseLoopOptions,
};
