#!/usr/bin/env node
// The edgefleet-hub launcher. It is committed (dist/ is not) so that npm links the bin at install time;
// it runs the compiled program, built by `npm run build` (npm start and npm test build first).
import { existsSync } from 'node:fs';

const target = new URL('../dist/server/main.js', import.meta.url);
if (!existsSync(target)) {
  process.stderr.write('edgefleet-hub: not built yet: run `npm run build` (tsc -b) in the edgefleet checkout first\n');
  process.exit(1);
}
const { main } = await import(target.href);
main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number' && code >= 0) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`edgefleet-hub: ${err?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
