// `npm run example:loop`: the loop end to end on a local fleet (issue 11 section 4; docs/drift.md "The
// loop, end to end"): drift alert -> captured data -> retrain (the TypeScript trainer) -> pack -> sign
// -> push -> rollout; the steps are in examples/src/loop/run.ts. It runs through scripts/start.mjs
// (its command line checked and the build first, then this module in the same process, so a signal
// to npm or to node stops the fleet), and ends when the rollout completed, or at Ctrl-C, stopping
// agents, the hub and the receiver.
import { LOOP_COMMAND_LINE } from './command-lines.js';
import { exampleMain } from './example-main.js';
import { runLoop } from './loop/run.js';

await exampleMain({
  ...LOOP_COMMAND_LINE, failed: 'loop failed',
  async run(o, stopSignal) {
    const r = await runLoop(o, stopSignal);
    process.stdout.write(`loop result ${JSON.stringify(r)}\n`);
    return 0;
  },
});
