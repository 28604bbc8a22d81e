// Checks the command line of `npm start` or `npm run example:loop` without running the example:
// scripts/start.mjs runs this from source (node --conditions=source --import tsx) before it builds, so a
// bad option or --help is answered at once, not after `tsc -b` (docs/fleet.md).
// Usage: check-command-line.ts start|loop OK_CODE [options]; exits 0 (--help printed), 2 (a bad command
// line, reported) or OK_CODE (the example may run).
import { processContext } from '@edgefleet/shared/cli';
import { FLEET_COMMAND_LINE, LOOP_COMMAND_LINE } from './command-lines.js';
import { checkCommandLine, type ExampleCommandLine } from './example-main.js';

const [example, ok, ...argv] = process.argv.slice(2);
const cl: ExampleCommandLine<unknown> = example === 'loop' ? LOOP_COMMAND_LINE : FLEET_COMMAND_LINE;
process.exitCode = await checkCommandLine(cl, argv, processContext(), Number(ok));
