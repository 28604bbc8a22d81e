// Running an edgefleet program's `main(argv)`: from a committed bin launcher (dist/ is built by
// `npm run build`, so npm can link the bins at install time, before anything is compiled), or from a
// module run directly (tests run the sources through tsx). Plain JS, never compiled; types in launch.d.ts.
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Whether the module at `moduleUrl` is the script node was started with. */
export function isEntryPoint(moduleUrl) {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Runs `main(argv)` and sets the exit code it resolves to (exitCode, not exit(), so piped output
 * drains). A negative code means "keep running" (a daemon that exits on a signal).
 */
export async function runMain(name, main) {
  // Output piped into a reader that has gone (`edgefleet audit | head`): a command stops quietly, as
  // Unix tools do, instead of dying on an unhandled EPIPE with a stack; a daemon (`run`) keeps running
  // without that output. Any other write error is still thrown.
  const daemon = process.argv[2] === 'run';
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (err?.code !== 'EPIPE') throw err;
      if (!daemon) process.exit(process.exitCode ?? 0);
    });
  }
  try {
    const code = await main(process.argv.slice(2));
    if (typeof code === 'number' && code >= 0) process.exitCode = code;
  } catch (err) {
    process.stderr.write(`error [INTERNAL]: ${name}: ${err?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

/** Imports the built program at `target` (a file URL) and runs its exported `main`. */
export async function launch(name, target) {
  if (!existsSync(target)) {
    process.stderr.write(`${name}: not built yet: run \`npm run build\` (tsc -b) in the edgefleet checkout first\n`);
    process.exitCode = 1;
    return;
  }
  const { main } = await import(target.href);
  await runMain(name, main);
}
