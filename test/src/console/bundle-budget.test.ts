// The console's bundle budgets (docs/console.md "Bundle size"): what the browser loads at start, and all of the
// console's code with the other views' chunks (docs/decisions/0190-views-load-in-chunks.md), measured
// on the built renderer the hub serves.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRenderer } from './helpers.js';
import { START_BUDGET, TOTAL_BUDGET, builtChunks, bundleSizes } from './bundle-size.js';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

describe('console bundle budget', () => {
  before(() => buildRenderer());

  it('what loads at start and all of the console stay under their budgets', () => {
    const s = bundleSizes();
    assert.ok(s.start <= START_BUDGET, `at start ${kib(s.start)} (${s.startFiles.join(', ')}), over the ${kib(START_BUDGET)} budget`);
    assert.ok(s.total <= TOTAL_BUDGET, `all ${kib(s.total)}, over the ${kib(TOTAL_BUDGET)} budget`);
    // Every script the build wrote is one the console can load (none is left out of the total).
    assert.deepEqual(s.files, builtChunks());
  });

  it('loads the fleet view at start and every other view, Try it and the signature checks in chunks of their own', () => {
    const { startFiles, files } = bundleSizes();
    for (const lazy of ['device', 'models', 'deployments', 'audit', 'drift', 'alerts', 'rollouts', 'rollout-create', 'rollout-config-create', 'captures', 'try-it']) {
      const chunk = files.find((f) => f.startsWith(`${lazy}-`));
      assert.ok(chunk, `no chunk of its own for ${lazy} among ${files.join(', ')}`);
      assert.ok(!startFiles.includes(chunk), `${chunk} loads at start`);
    }
  });

  it('counts static imports transitively at start and what a dynamic import reaches in the total only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-bundle-size-'));
    try {
      const files: Record<string, string> = {
        'app.js': 'import{a as b}from"./chunk-A.js";import"./chunk-B.js";const v=()=>import("./view-C.js");',
        'chunk-A.js': 'export const a=1;',
        'chunk-B.js': 'import{a}from"./chunk-A.js";',
        'view-C.js': 'import{a}from"./chunk-A.js";import{d}from"./chunk-D.js";export const c=a;',
        'chunk-D.js': 'export const d="import(\\"x\\")";',
      };
      for (const [f, code] of Object.entries(files)) writeFileSync(join(dir, f), code);
      const size = (fs: string[]) => fs.reduce((n, f) => n + Buffer.byteLength(files[f]!), 0);
      const s = bundleSizes(dir);
      assert.deepEqual(s.startFiles, ['app.js', 'chunk-A.js', 'chunk-B.js']);
      assert.equal(s.start, size(s.startFiles));
      assert.deepEqual(s.files, ['app.js', 'chunk-A.js', 'chunk-B.js', 'chunk-D.js', 'view-C.js']);
      assert.equal(s.total, size(Object.keys(files)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
