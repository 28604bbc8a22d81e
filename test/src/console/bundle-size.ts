// What the console's built renderer (desktop/dist/renderer/assets) weighs: what the browser loads at start (app.js and
// the chunks it imports, transitively) and all of its code (those and every chunk of the other views, fetched after the first is shown,
// `import()`: docs/decisions/0190-views-load-in-chunks.md). onnxruntime-web's files, fetched by Try it from the
// assets by a URL and never bundled, are not the console's code and count in neither. Read from the files the hub
// serves, by the imports esbuild wrote in them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@edgefleet/examples';

export interface BundleSizes {
  /** Bytes the console loads before it shows anything: app.js and its static imports. */
  start: number;
  startFiles: string[];
  /** Bytes of all the console's code: `start` and every chunk fetched after it. */
  total: number;
  files: string[];
}

/** The budgets (docs/console.md "Bundle size"), in bytes. */
export const START_BUDGET = 100 * 1024;
export const TOTAL_BUDGET = 240 * 1024;

/** `./name.js` of each static import (`import{a as b}from"./chunk-X.js"`, `import"./chunk-Y.js"`) and each `import("./view-Z.js")`. */
function importsOf(code: string): { staticImports: string[]; dynamicImports: string[] } {
  const staticImports = [...code.matchAll(/\bimport\s*(?:[\w$*{},\s]*?\bfrom\s*)?"\.\/([\w.-]+\.js)"/g)].map((m) => m[1]!);
  const dynamicImports = [...code.matchAll(/\bimport\("\.\/([\w.-]+\.js)"\)/g)].map((m) => m[1]!);
  return { staticImports, dynamicImports };
}

export function bundleSizes(assets = join(repoRoot(), 'desktop', 'dist', 'renderer', 'assets')): BundleSizes {
  const size = (f: string) => statSync(join(assets, f)).size;
  const seen = new Map<string, boolean>(); // file -> loaded at start
  const visit = (f: string, atStart: boolean): void => {
    if (seen.get(f) === true || (seen.has(f) && !atStart)) return;
    seen.set(f, atStart);
    const { staticImports, dynamicImports } = importsOf(readFileSync(join(assets, f), 'utf8'));
    for (const s of staticImports) visit(s, atStart);
    for (const d of dynamicImports) visit(d, false);
  };
  visit('app.js', true);
  const files = [...seen.keys()].sort();
  const startFiles = files.filter((f) => seen.get(f));
  const sum = (fs: string[]) => fs.reduce((n, f) => n + size(f), 0);
  return { start: sum(startFiles), startFiles, total: sum(files), files };
}

/** The console's scripts on disk: every .js the renderer build wrote (onnxruntime-web's files are .mjs). */
export const builtChunks = (assets = join(repoRoot(), 'desktop', 'dist', 'renderer', 'assets')): string[] =>
  readdirSync(assets).filter((f) => f.endsWith('.js')).sort();
