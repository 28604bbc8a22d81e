#!/usr/bin/env node
// Builds the console renderer (desktop/src/renderer) into desktop/dist/renderer with esbuild (and the
// desktop app's preload into desktop/dist/preload.cjs, its first-run page into desktop/dist/first-run): the ES
// module assets/app.js, the chunks fetched after it (a view's code: `import()` in src/renderer, each a chunk
// assets/NAME-HASH.js, and the chunks they share; docs/decisions/0190-views-load-in-chunks.md), the stylesheet,
// index.html and onnxruntime-web's files. No inline script, no eval, so the
// hub can serve it under a strict Content-Security-Policy (hub/src/api/console.ts). Written to a
// temporary directory and renamed into place, so a hub never serves a half-written build.
// Usage: node desktop/scripts/build-renderer.mjs [--out DIR] [--quiet]   (`npm run build` runs it)
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const desktop = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1] : join(desktop, 'dist', 'renderer');
const tmp = `${out}.tmp-${process.pid}`;
const src = join(desktop, 'src', 'renderer');

rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });
const result = await build({
  entryPoints: { app: join(src, 'main.tsx') },
  outdir: join(tmp, 'assets'),
  // Chunks are named by their content: a page loaded before the hub restarted with a new build asks for names the
  // new build does not have (a 404 it says as such, ui/lazy.tsx), never for a chunk of another build under the same name.
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  conditions: ['source'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
copyFileSync(join(src, 'styles.css'), join(tmp, 'assets', 'app.css'));
// onnxruntime-web for the models view's "Try it", loaded by the page only when asked (not bundled:
// app.js stays small): its ES module, its WebAssembly glue and the .wasm, served from assets/.
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')); // its dist/
for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) copyFileSync(join(ortDist, f), join(tmp, 'assets', f));
// The desktop app's preload: sandboxed preloads load as CommonJS, with only `electron` to require.
await build({
  entryPoints: [join(desktop, 'src', 'preload', 'preload.ts')],
  outfile: join(desktop, 'dist', 'preload.cjs'),
  bundle: true, format: 'cjs', platform: 'node', target: 'node22', external: ['electron'], logLevel: 'warning',
});
// The desktop app's first-run page (a form to add a hub profile; desktop/src/main/first-run.ts), loaded
// from disk next to the preload: its own small bundle and the console's stylesheet.
const firstRun = join(desktop, 'dist', 'first-run');
mkdirSync(firstRun, { recursive: true });
await build({
  entryPoints: [join(desktop, 'src', 'first-run', 'first-run.ts')],
  outfile: join(firstRun, 'first-run.js'),
  bundle: true, format: 'iife', platform: 'browser', target: ['chrome110'], minify: true, conditions: ['source'], legalComments: 'none', logLevel: 'warning',
});
copyFileSync(join(desktop, 'src', 'first-run', 'index.html'), join(firstRun, 'index.html'));
copyFileSync(join(src, 'styles.css'), join(firstRun, 'app.css'));
copyFileSync(join(src, 'index.html'), join(tmp, 'index.html'));
// The old build is renamed aside, not deleted first, so the path is missing only between two renames.
const old = `${out}.old-${process.pid}`;
rmSync(old, { recursive: true, force: true });
try {
  renameSync(out, old);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
renameSync(tmp, out);
rmSync(old, { recursive: true, force: true });
if (!args.includes('--quiet')) {
  const kib = (f) => (statSync(join(out, 'assets', f)).size / 1024).toFixed(1);
  const chunks = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).map((f) => f.split('/').pop());
  console.log(`console renderer built in ${out}: app.js ${kib('app.js')} KiB, ${chunks.length} scripts in all (${Object.keys(result.metafile.inputs).length} inputs); what loads at start and in all: test/src/console/bundle-budget.test.ts`);
}
