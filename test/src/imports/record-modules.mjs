// Records every module a Node process loads, for tests that assert what a program does NOT load
// (test/src/imports/daemon-imports.test.ts). Load it with `--import <this file's URL>` and set
// EF_RECORD_MODULES to a file: ES modules are appended as they resolve (a resolve hook in the
// loader thread, record-modules-hooks.mjs) and CommonJS modules (require.cache, which also holds
// every CommonJS package an ES module imported) when the process exits. One URL or path a line.
// Plain JS: it must run before tsx is there to compile anything.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.EF_RECORD_MODULES;
if (!out) throw new Error('record-modules.mjs: set EF_RECORD_MODULES to the file to append module URLs to');
register('./record-modules-hooks.mjs', import.meta.url, { data: { out } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  appendFileSync(out, Object.keys(cache).map((f) => `${f}\n`).join(''));
});
