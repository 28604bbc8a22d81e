// Keys, trust documents and signed bundles for tests and benches: the example
// vibration model (v1.0.0 on baseline data, v2.0.0 on shifted data, trained
// small so it is quick), a non-tabular multi-input model, and any ONNX bytes
// a test needs packed. Everything is written under a directory the caller owns.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTrustBody, generateKeyPair, packBundle, readSecretKeyFile, signBundle, signEnvelope, writeKeyFiles,
  type Feature, type KeyPair, type Manifest, type ManifestInput, type Policy, type Provenance, type Reference,
  type Role, type TensorSpec, type TrustBody, type TrustDocument,
} from '@edgefleet/shared';
import { buildMultiInputModel } from '../onnx/models.js';
import { cachedModel } from './model-cache.js';
import { makeRng } from '../rng.js';
import { buildExampleModel, type ExampleModel, type ExampleOptions } from '../vibration/pipeline.js';
import { computeReference } from '../vibration/reference.js';

type KeyName = 'root' | 'release' | 'hub' | 'untrusted';
export interface KeyFiles { keyPath: string; pubPath: string }
/** root, release and hub keys that the trust document names, plus a release-role key it does not. */
export type Keys = Record<KeyName, KeyPair> & { dir: string; files: Record<KeyName, KeyFiles> };

const KEY_ROLES: Record<KeyName, Role> = { root: 'root', release: 'release', hub: 'hub', untrusted: 'release' };

/** Generates the four key pairs and writes DIR/NAME.key (0600) and DIR/NAME.pub for each. */
export function makeKeys(dir: string): Keys {
  mkdirSync(dir, { recursive: true });
  const pairs = {} as Record<KeyName, KeyPair>;
  const files = {} as Record<KeyName, KeyFiles>;
  for (const name of Object.keys(KEY_ROLES) as KeyName[]) {
    pairs[name] = generateKeyPair(KEY_ROLES[name], name);
    files[name] = writeKeyFiles(dir, name, pairs[name]);
  }
  return { ...pairs, dir, files };
}

/** Reads the keys makeKeys wrote to DIR, or makes them when DIR has none (so reruns keep one trust root). */
export async function loadOrMakeKeys(dir: string): Promise<Keys> {
  const names = Object.keys(KEY_ROLES) as KeyName[];
  if (!names.every((n) => existsSync(join(dir, `${n}.key`)))) return makeKeys(dir);
  const pairs = {} as Record<KeyName, KeyPair>;
  const files = {} as Record<KeyName, KeyFiles>;
  for (const n of names) {
    files[n] = { keyPath: join(dir, `${n}.key`), pubPath: join(dir, `${n}.pub`) };
    pairs[n] = await readSecretKeyFile(files[n].keyPath);
    if (pairs[n].role !== KEY_ROLES[n]) throw new Error(`${files[n].keyPath} is a ${pairs[n].role} key; expected a ${KEY_ROLES[n]} key`);
  }
  return { ...pairs, dir, files };
}

export interface TrustOptions {
  version?: number;
  /** Default: a year from now. */
  expires?: Date | string;
  /** File name inside dir (default trust.json). */
  file?: string;
  /** Extra keys per role (e.g. a second release key for threshold tests). */
  extra?: Partial<Record<Role, KeyPair[]>>;
  thresholds?: Partial<Record<Role, number>>;
  /** Root keys that sign it (default: keys.root). */
  signers?: KeyPair[];
}

export interface Trust { doc: TrustDocument; body: TrustBody; path: string }

/** Writes a trust document naming keys.root / release / hub (not `untrusted`), signed by the root key. */
export function makeTrust(dir: string, keys: Keys, opts: TrustOptions = {}): Trust {
  mkdirSync(dir, { recursive: true });
  const body = createTrustBody({
    version: opts.version ?? 1,
    expires: opts.expires ?? new Date(Date.now() + 365 * 86_400_000),
    root: [keys.root, ...(opts.extra?.root ?? [])],
    release: [keys.release, ...(opts.extra?.release ?? [])],
    hub: [keys.hub, ...(opts.extra?.hub ?? [])],
    ...(opts.thresholds ? { thresholds: opts.thresholds } : {}),
  });
  const doc = signEnvelope(body, opts.signers ?? [keys.root]) as TrustDocument;
  const path = join(dir, opts.file ?? 'trust.json');
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return { doc, body, path };
}

export interface BundleResult { path: string; manifest: Manifest; manifestSha256: string; size: number }

export interface BundleFromOnnxOptions {
  dir: string;
  onnx: Uint8Array;
  name: string;
  version: string;
  io: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  features?: Feature[];
  reference?: Omit<Reference, 'id'> & { id?: string };
  policy?: Partial<Policy>;
  runtime?: Partial<Manifest['runtime']>;
  provenance?: Partial<Provenance>;
  description?: string;
  /** Extra files to put in the bundle beside model.onnx. */
  files?: { path: string; bytes: Uint8Array | string }[];
  /** The manifest's samples (their files go in `files`). */
  samples?: ManifestInput['samples'];
  /** What the model predicts (labels, CBPE: docs/drift.md "Accuracy"). */
  task?: ManifestInput['task'];
  /** Signing keys (default: keys.release when `keys` is given). */
  keys?: Keys;
  signWith?: KeyPair[];
  /** Default true; false leaves the bundle unsigned. */
  sign?: boolean;
  /** Output file name (default NAME-VERSION.efb). */
  out?: string;
  /** Encrypt the files with this content key (a sealed model). */
  encrypt?: { key: Uint8Array; chunkSize?: number };
}

/** Packs ONNX bytes with a manifest built from the options into DIR/NAME-VERSION.efb, signed unless sign=false. */
export async function bundleFromOnnx(o: BundleFromOnnxOptions): Promise<BundleResult> {
  const work = join(o.dir, `.src-${o.name}-${o.version}`);
  mkdirSync(work, { recursive: true });
  const modelPath = join(work, 'model.onnx');
  writeFileSync(modelPath, o.onnx);
  const extra = (o.files ?? []).map((f) => {
    const source = join(work, f.path.replace(/\//g, '__'));
    writeFileSync(source, f.bytes);
    return { path: f.path, source };
  });
  const manifest: Omit<ManifestInput, 'files'> = {
    schema: 'edgefleet.manifest/v1',
    name: o.name,
    version: o.version,
    created: new Date().toISOString(),
    description: o.description ?? `${o.name} ${o.version} (test fixture)`,
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0', intraOpThreads: 1, interOpThreads: 1, spinning: false, executionProviders: ['cpu'], ...o.runtime },
    io: o.io,
    ...(o.features ? { features: o.features } : {}),
    ...(o.reference ? { reference: o.reference as Reference } : {}),
    ...(o.samples ? { samples: o.samples } : {}),
    ...(o.task ? { task: o.task } : {}),
    provenance: {
      data: [],
      featureDefinitions: {},
      training: { code: 'examples/src/testkit/fixtures.ts', hyperparameters: {} },
      metrics: {},
      reason: 'test fixture',
      ...o.provenance,
    },
    policy: { maxErrorRate: 0.05, maxP95LatencyMs: 250, observationWindowSec: 300, minRequests: 20, ...o.policy },
  };
  try {
    return await packAndSign(o, manifest, [{ path: 'model.onnx', source: modelPath }, ...extra]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function packAndSign(
  o: { dir: string; name: string; version: string; keys?: Keys; signWith?: KeyPair[]; sign?: boolean; out?: string; encrypt?: { key: Uint8Array; chunkSize?: number } },
  manifest: unknown,
  files: { path: string; source: string }[],
): Promise<BundleResult> {
  const out = join(o.dir, o.out ?? `${o.name}-${o.version}.efb`);
  const packed = await packBundle({ manifest, files, out, ...(o.encrypt ? { encrypt: o.encrypt } : {}) });
  if (o.sign !== false) {
    const signers = o.signWith ?? (o.keys ? [o.keys.release] : []);
    if (signers.length === 0) throw new Error(`bundle ${o.name} ${o.version}: sign is on but no keys were given; expected keys or signWith (or sign: false)`);
    for (const k of signers) await signBundle(out, k);
  }
  return packed;
}

// Trained example models are pure functions of their options; keep them per
// process so that many tests asking for the same fixture train it once, and on
// disk across the test run's processes when EDGEFLEET_MODEL_CACHE is set (model-cache.ts).
const trained = new Map<string, Promise<ExampleModel>>();

/** Small, quick training sizes for tests (the make-example script uses the full ones). */
export const SMALL_EXAMPLE: Pick<ExampleOptions, 'rows' | 'holdout' | 'train' | 'gitCommit'> = {
  rows: 1200, holdout: 400, train: { epochs: 8 }, gitCommit: false,
};

export function trainExample(opts: ExampleOptions): Promise<ExampleModel> {
  const key = JSON.stringify(opts);
  let p = trained.get(key);
  if (!p) {
    p = cachedModel(opts, buildExampleModel);
    trained.set(key, p);
    p.catch(() => trained.delete(key));
  }
  return p;
}

export interface ExampleBundleOptions {
  dir: string;
  version: string;
  shift?: boolean;
  keys?: Keys;
  sign?: boolean;
  /** Full-size training (slower) instead of the small test sizes. */
  full?: boolean;
  /** Overrides for the training pipeline (rows, seed, reason, ...). */
  example?: Partial<ExampleOptions>;
  /** Encrypt the files with this content key (a sealed model). */
  encrypt?: { key: Uint8Array; chunkSize?: number };
}

/** The example vibration model as a signed bundle DIR/vibration-anomaly-VERSION.efb. */
export async function buildExampleBundle(o: ExampleBundleOptions): Promise<BundleResult & { model: ExampleModel }> {
  const model = await trainExample({
    ...(o.full ? {} : SMALL_EXAMPLE),
    ...o.example,
    version: o.version,
    shift: o.shift ?? false,
  });
  const work = join(o.dir, `.src-${model.manifest.name}-${o.version}`);
  mkdirSync(work, { recursive: true });
  const modelPath = join(work, 'model.onnx');
  writeFileSync(modelPath, model.onnx);
  try {
    const packed = await packAndSign({ ...o, name: model.manifest.name }, model.manifest, [{ path: 'model.onnx', source: modelPath }]);
    return { ...packed, model };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The multi-input audio model (audio FP32 [1,-1] + sample_rate INT64 [] -> energy, sr_out) with output reference bins. */
export async function buildMultiBundle(o: { dir: string; keys?: Keys; sign?: boolean; version?: string; signWith?: KeyPair[] }): Promise<BundleResult> {
  const m = buildMultiInputModel();
  const rng = makeRng(5);
  // Energies of synthetic clips (noise at random levels) as the output reference.
  const energies = Array.from({ length: 500 }, () => {
    const level = 0.05 + rng.next() * 0.6;
    let e = 0;
    for (let i = 0; i < 256; i++) e += (rng.normal() * level) ** 2;
    return e / 256;
  });
  const ref = computeReference({
    features: [], x: [], columns: 0, rows: energies.length,
    outputs: [{ name: 'energy', index: 0, values: energies, edges: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1] }],
  });
  return bundleFromOnnx({
    dir: o.dir, onnx: m.onnx, name: 'audio-energy', version: o.version ?? '1.0.0', io: m.io, reference: ref,
    description: 'mean energy of an audio clip; a non-tabular model with a scalar INT64 input',
    ...(o.keys ? { keys: o.keys } : {}), ...(o.sign !== undefined ? { sign: o.sign } : {}), ...(o.signWith ? { signWith: o.signWith } : {}),
  });
}

export interface Fixture {
  dir: string;
  keys: Keys;
  trust: TrustBody;
  trustDoc: TrustDocument;
  trustPath: string;
  /** Bundle paths. */
  v1: string;
  v2: string;
  multi: string;
  bundles: { v1: BundleResult; v2: BundleResult; multi: BundleResult };
}

/** Keys in DIR/keys, DIR/trust.json, and signed bundles: example v1.0.0, v2.0.0 (shifted) and the multi-input model. */
export async function makeFixture(dir: string): Promise<Fixture> {
  const keys = makeKeys(join(dir, 'keys'));
  const t = makeTrust(dir, keys);
  const bundlesDir = join(dir, 'bundles');
  mkdirSync(bundlesDir, { recursive: true });
  const v1 = await buildExampleBundle({ dir: bundlesDir, version: '1.0.0', keys });
  const v2 = await buildExampleBundle({ dir: bundlesDir, version: '2.0.0', shift: true, keys });
  const multi = await buildMultiBundle({ dir: bundlesDir, keys });
  return {
    dir, keys, trust: t.body, trustDoc: t.doc, trustPath: t.path,
    v1: v1.path, v2: v2.path, multi: multi.path, bundles: { v1, v2, multi },
  };
}
