// The trained-model cache of the test run (model-cache.ts): an entry gives back exactly what training
// gave, a key changes with every option, and with the cache off or for given rows it trains every time.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleModel, type ExampleOptions } from '../vibration/pipeline.js';
import { SMALL_EXAMPLE } from './fixtures.js';
import { cachedModel, modelCacheKey, readCachedModel } from './model-cache.js';

describe('the trained-model cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-model-cache-'));
  const saved = process.env.EDGEFLEET_MODEL_CACHE;
  after(() => {
    if (saved === undefined) delete process.env.EDGEFLEET_MODEL_CACHE;
    else process.env.EDGEFLEET_MODEL_CACHE = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const opts: ExampleOptions = { ...SMALL_EXAMPLE, rows: 600, holdout: 200, version: '1.0.0' };

  it('gives back what training gave (bytes, manifest, metrics, datasets), and trains only once per key', async () => {
    process.env.EDGEFLEET_MODEL_CACHE = dir;
    let builds = 0;
    const build = (o: ExampleOptions) => { builds++; return buildExampleModel(o); };
    const fresh = await cachedModel(opts, build);
    const again = await cachedModel(opts, build);
    assert.equal(builds, 1);
    assert.deepStrictEqual(again, fresh);
    assert.deepStrictEqual(readCachedModel(dir, modelCacheKey(opts)!), fresh);
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 0, 'no temporary file left');
  });

  it('keys every option, and does not cache a model trained on given rows or with the cache off', async () => {
    const keys = new Set([opts, { ...opts, version: '1.0.1' }, { ...opts, shift: true }, { ...opts, train: { epochs: 9 } }, { ...opts, regress: true }].map(modelCacheKey));
    assert.equal(keys.size, 5);
    const m = await buildExampleModel(opts);
    assert.equal(modelCacheKey({ ...opts, data: { train: m.train, holdout: m.holdout, name: 'd', uri: 'u', holdoutUri: 'h' } }), undefined);
    let builds = 0;
    const build = (o: ExampleOptions) => { builds++; return buildExampleModel(o); };
    delete process.env.EDGEFLEET_MODEL_CACHE;
    await cachedModel(opts, build);
    await cachedModel(opts, build);
    assert.equal(builds, 2);
  });
});
