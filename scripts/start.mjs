#!/usr/bin/env node
// `npm start`: checks its command line (from source, so a bad option is told before the slow build),
// builds (tsc -b, then the console the hub serves at / with desktop/scripts/build-renderer.mjs: without it
// the fleet's hub answered / with 503 "not built") and then runs the local fleet (examples/dist/start.js) inside this one process, so
// SIGINT/SIGTERM sent to npm (which forwards it to its script) or to this process reach the fleet,
// which stops its agents and then the hub (docs/fleet.md, step 12).
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

/**
 * Runs node with `args` in the repo root, as `what`; resolves to its exit code. A signal meanwhile ends
 * it, and then this process (130).
 */
async function step(what, args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  let signalled = null;
  const onSignal = (sig) => {
    signalled = sig;
    child.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`npm start: ${what}: cannot run node: ${err.message}\n`);
      resolve(1);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (signalled) {
    process.stderr.write(`npm start: interrupted (${signalled}) while ${what}\n`);
    process.exit(130);
  }
  return code;
}

// The command line is read first, from the TypeScript source (tsx), so --help or a bad option is
// answered at once rather than after the build (examples/src/check-command-line.ts): it exits 0 (help
// printed), 2 (a bad command line, reported), or OK below.
const OK = 3;
const checked = await step('checking the command line', ['--conditions=source', '--import', 'tsx', 'examples/src/check-command-line.ts', example, String(OK), ...process.argv.slice(2)]);
if (checked !== OK) process.exit(checked);

// A signal during the build ends the build, and then this process.
const code = await step('building', [tsc, '-b']);
if (code !== 0) {
  process.stderr.write('npm start: the build (tsc -b) failed; see above\n');
  process.exit(code);
}
const consoleCode = await step('building the console', ['desktop/scripts/build-renderer.mjs', '--quiet']);
if (consoleCode !== 0) {
  process.stderr.write('npm start: the console\'s build (desktop/scripts/build-renderer.mjs) failed; see above\n');
  process.exit(consoleCode);
}
// The fleet reads its options from process.argv.slice(2), which are ours, and installs its own
// SIGINT/SIGTERM handlers.
await import(new URL(`../examples/dist/${example}.js`, import.meta.url).href);
