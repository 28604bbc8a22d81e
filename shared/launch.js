// Runs a compiled edgefleet program from a committed bin launcher (dist/ is built by `npm run build`,
// so npm can link the bins at install time, before anything is compiled). Plain JS, never compiled.
import { existsSync } from 'node:fs';

/** Imports `target` (a file URL), runs its exported `main(argv)` and sets the exit code it returns. */
export async function launch(name, target) {
  if (!existsSync(target)) {
    process.stderr.write(`${name}: not built yet: run \`npm run build\` (tsc -b) in the edgefleet checkout first\n`);
    process.exitCode = 1;
    return;
  }
  try {
    const { main } = await import(target.href);
    const code = await main(process.argv.slice(2));
    // A negative code means "keep running" (a daemon that exits on a signal).
    if (typeof code === 'number' && code >= 0) process.exitCode = code;
  } catch (err) {
    process.stderr.write(`${name}: ${err?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
