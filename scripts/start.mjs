#!/usr/bin/env node
// `npm start`: builds (tsc -b) and then runs the local fleet (examples/dist/start.js) inside this
// one process, so SIGINT/SIGTERM sent to npm (which forwards it to its script) or to this process
// reach the fleet, which stops its agents and then the hub (docs/fleet.md, step 12).
// The script used to be `tsc -b && node examples/dist/start.js`: npm runs scripts under `sh -c`,
// and the shell took npm's signal for itself and died, leaving the fleet running. The script is
// now `exec node scripts/start.mjs` (the shell becomes this process), and should a shell or
// anything else still stand between, losing the parent stops the fleet too (below).
// Usage: npm start -- [fleet options]   (or: node scripts/start.mjs [fleet options])
// `npm run example:loop` runs examples/dist/loop.js the same way (first argument --example=loop).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Which example module: `--example=loop` (taken out of argv, which the module reads) or the fleet.
const example = process.argv[2] === '--example=loop' ? (process.argv.splice(2, 1), 'loop') : 'start';

// npm (or whatever started us) went away without passing a signal on (SIGKILLed, or a shell in
// between took the signal): stop as on SIGTERM rather than run on orphaned.
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  process.stderr.write(`npm start: parent process ${parent} is gone; stopping\n`);
  process.kill(process.pid, 'SIGTERM');
}, 500);
orphaned.unref();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A signal during the build ends the build, and then this process.
const build = spawn(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
let signalled = null;
const onSignal = (sig) => {
  signalled = sig;
  build.kill(sig);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const code = await new Promise((resolve) => {
  build.on('error', (err) => {
    process.stderr.write(`npm start: cannot run tsc: ${err.message}\n`);
    resolve(1);
  });
  build.on('close', (c) => resolve(c ?? 1));
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
if (signalled) {
  process.stderr.write(`npm start: interrupted (${signalled}) while building\n`);
  process.exit(130);
}
if (code !== 0) {
  process.stderr.write('npm start: the build (tsc -b) failed; see above\n');
  process.exit(code);
}
// The fleet reads its options from process.argv.slice(2), which are ours, and installs its own
// SIGINT/SIGTERM handlers.
await import(new URL(`../examples/dist/${example}.js`, import.meta.url).href);
