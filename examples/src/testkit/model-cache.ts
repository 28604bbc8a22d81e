// Trained example models kept on disk across the processes of one test run (docs/development.md
// "Test run time"): every test file is a process of its own, and some forty of them train the same
// seeded models (makeFixture's v1 and v2, the story's three full versions), ~2-5 s of CPU each. The
// cache is on only when EDGEFLEET_MODEL_CACHE names a directory (scripts/test.mjs sets it), so
// `npm start` and `npm run example:model` always train. An entry's key is everything the model is a
// function of: the options, the source files that generate, train, export and evaluate it, the
// onnxruntime-node version (it computes the held-out metrics) and git HEAD when the manifest records
// it; an entry holds exactly what buildExampleModel returned (examples/src/testkit/model-cache.test.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../vibration/data.js';
import { gitHead, type ExampleModel, type ExampleOptions } from '../vibration/pipeline.js';

/** The directories (beside testkit/, in src/ or dist/) whose code the trained model depends on. */
const CODE_DIRS = ['vibration', 'onnx'];
const CODE_FILES = ['rng.ts', 'rng.js'];

let codeHash: string | undefined;

/** sha256 over the model code's files (this package's src or dist, whichever this module runs from). */
function modelCodeHash(): string {
  if (codeHash) return codeHash;
  const base = fileURLToPath(new URL('..', import.meta.url));
  const h = createHash('sha256');
  const files = [
    ...CODE_DIRS.flatMap((d) => readdirSync(join(base, d)).filter((n) => /\.[cm]?[jt]s$/.test(n) && !/\.test\.|\.d\.ts$/.test(n)).map((n) => join(d, n))),
    ...CODE_FILES.filter((f) => existsSync(join(base, f))),
  ].sort();
  for (const f of files) h.update(`${f}\0`).update(readFileSync(join(base, f))).update('\0');
  const ort = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string };
  h.update(`onnxruntime-node@${ort.version}`);
  codeHash = h.digest('hex');
  return codeHash;
}

/** The cache key of `opts`, or undefined when the model is not cacheable (trained on given rows). */
export function modelCacheKey(opts: ExampleOptions): string | undefined {
  if (opts.data) return undefined;
  const head = opts.gitCommit === false ? '' : gitHead() ?? '';
  return createHash('sha256').update(JSON.stringify(opts)).update('\0').update(modelCodeHash()).update('\0').update(head).digest('hex');
}

interface Stored {
  onnx: string;
  manifest: ExampleModel['manifest'];
  metrics: ExampleModel['metrics'];
  baselines: ExampleModel['baselines'];
  trainLoss: number;
  train: { x: string; y: string; rows: number };
  holdout: { x: string; y: string; rows: number };
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const dataset = (d: Stored['train']): Dataset => ({ x: new Float32Array(bytes(d.x).buffer), y: bytes(d.y), rows: d.rows });

/** The cached model for `key` in `dir`, or undefined. */
export function readCachedModel(dir: string, key: string): ExampleModel | undefined {
  let s: Stored;
  try {
    s = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Stored;
  } catch {
    return undefined;
  }
  return {
    onnx: Buffer.from(s.onnx, 'base64'), manifest: s.manifest, metrics: s.metrics, baselines: s.baselines,
    train: dataset(s.train), holdout: dataset(s.holdout), trainLoss: s.trainLoss,
  };
}

/** Stores `m` under `key` (written whole, then renamed: a concurrent reader sees all of it or nothing). */
export function writeCachedModel(dir: string, key: string, m: ExampleModel): void {
  const s: Stored = {
    onnx: b64(m.onnx), manifest: m.manifest, metrics: m.metrics, baselines: m.baselines, trainLoss: m.trainLoss,
    train: { x: b64(m.train.x), y: b64(m.train.y), rows: m.train.rows },
    holdout: { x: b64(m.holdout.x), y: b64(m.holdout.y), rows: m.holdout.rows },
  };
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(s));
  renameSync(tmp, join(dir, `${key}.json`));
}

/** buildExampleModel through the cache in EDGEFLEET_MODEL_CACHE, when it is set and the model is cacheable. */
export async function cachedModel(opts: ExampleOptions, build: (o: ExampleOptions) => Promise<ExampleModel>): Promise<ExampleModel> {
  const dir = process.env.EDGEFLEET_MODEL_CACHE;
  const key = dir ? modelCacheKey(opts) : undefined;
  if (!dir || !key) return build(opts);
  const hit = readCachedModel(dir, key);
  if (hit) return hit;
  const m = await build(opts);
  writeCachedModel(dir, key, m);
  return m;
}
