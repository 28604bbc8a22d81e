// `edgefleet model pack|sign|verify|inspect`: the offline bundle commands, on
// @edgefleet/shared's bundle API. pack checks the model with onnxruntime
// (model-check.ts) before anything is written; verify checks a bundle the way
// an agent will and prints a one-line verdict.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  AppError, MANIFEST_SCHEMA, checkThreshold, contentKeyId, manifestSigningBytes, newContentKey, writeContentKeyFile, ModelName, packBundle, readBundle, readSecretKeyFile, SemVer,
  signBundle, verifyBundle, verifyTrustDocument, type BundleInfo, type Manifest, type PreflightResult, type TrustBody,
} from '@edgefleet/shared';
import { checkBundleModel, checkPackedModel } from '../../model-check.js';
import { backendsWarning, describeBackends, modelBackends, type ModelBackends } from '../../model-backends.js';
import { optBool, optString, optStrings, reqString, type Command } from '../args.js';
import { ProgressBar, formatBytes, keyValues, shortId, table, waitNote, type CliContext } from '../output.js';
import { bundleOutPath, checkOutFile, commitSealedBundle } from '../out-file.js';
import { packProblems, sampleFlags, toleranceCheck } from './model-samples.js';
import { readTrustFile } from './trust.js';

function readManifestFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('NOT_FOUND', `cannot read manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `manifest ${path} is not JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new AppError('SCHEMA_INVALID', `manifest ${path}: expected a JSON object`);
  // Another of our files given as --manifest (trust.json, a key, a desired document) has its schema on top or under `signed`.
  const m = value as Record<string, unknown>;
  const signed = m.signed && typeof m.signed === 'object' ? (m.signed as { schema?: unknown }).schema : undefined;
  const other = [m.schema, signed].find((x): x is string => typeof x === 'string' && x.startsWith('edgefleet.') && !x.startsWith('edgefleet.manifest/'));
  if (other !== undefined) {
    throw new AppError('SCHEMA_INVALID', `manifest ${path}: this is a ${JSON.stringify(other).slice(0, 80)} file; expected a model's manifest.json (${MANIFEST_SCHEMA}: name, version, io, ...; docs/cli.md "model pack")`);
  }
  return m;
}

/** The size of the file at `path` (a bar's total; 0, a counter, when it cannot be read: the read names why). */
function bundleBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** NAME-VERSION.efb from the manifest, checked first so a bad name is reported as such, not as a strange file name. */
function defaultBundleName(m: Record<string, unknown>, manifestPath: string): string {
  // A field left out is said to be missing, not `expected string, received undefined, got undefined`.
  const problem = (field: 'name' | 'version', issue: string | undefined, example: string) => new AppError('SCHEMA_INVALID', m[field] === undefined
    ? `manifest ${manifestPath}: ${field}: required, but missing (expected a string such as ${example})`
    : `manifest ${manifestPath}: ${field}: ${issue ?? 'invalid'}, got ${JSON.stringify(m[field])}`);
  const name = ModelName.safeParse(m.name);
  if (!name.success) throw problem('name', name.error.issues[0]?.message, '"audio-energy"');
  const version = SemVer.safeParse(m.version);
  if (!version.success) throw problem('version', version.error.issues[0]?.message, '"1.0.0"');
  return `${name.data}-${version.data}.efb`;
}

/** Reads and verifies --trust (threshold of its own root keys, not expired). */
function loadTrust(ctx: CliContext, path: string): TrustBody {
  return verifyTrustDocument(readTrustFile(resolve(ctx.cwd, path)), { now: ctx.now() });
}

export const modelPack: Command = {
  summary: 'Pack a model, its manifest and extra files into a bundle (NAME-VERSION.efb)',
  usage: '--manifest FILE --model FILE [--file FILE]... [--sample FILE [--expect FILE] [--tolerance T]]... [--out FILE|DIR] [--force] [--encrypt [--key-out FILE]]',
  details:
    'Fills in each file\'s sha256 and size (and `created`, the reference id when missing), validates the\n'
    + 'manifest, loads the model with onnxruntime and checks that its inputs and outputs match `io` (names,\n'
    + 'datatypes, ranks), then runs the agent\'s warm-up on it: on the samples, or on synthetic input (zeros,\n'
    + 'reference medians) without them, and checks each sample\'s outputs against --expect (within --tolerance,\n'
    + 'default 1e-4 relative to max(1, |expected|)), all before anything is written. Samples are OIP v2 infer\n'
    + 'request bodies stored under samples/ and covered by the signatures; agents warm up on them and run them\n'
    + 'as a preflight at install. It then loads the model with onnxruntime-web (the wasm backend) and prints\n'
    + 'the backends it loads on; one that loads on native only is packed with a warning. The model is stored under the manifest\'s `entrypoint`\n'
    + '(default: the model\'s file name); extra files under their file names. The bundle is unsigned: run\n'
    + '"edgefleet model sign" next.',
  options: {
    manifest: { type: 'string', required: true, value: 'FILE', description: 'manifest.json as authored (files may be omitted)' },
    model: { type: 'string', required: true, value: 'FILE', description: 'the ONNX model (the entrypoint)' },
    file: { type: 'string', multiple: true, value: 'FILE', description: 'another file to include (labels, vocabularies, ...)' },
    sample: { type: 'string', multiple: true, repeatValues: true, value: 'FILE', description: 'an OIP v2 infer request body the model must run on (repeatable)' },
    expect: { type: 'string', multiple: true, repeatValues: true, value: 'FILE', description: 'the expected OIP v2 response: none, or one per --sample in the same order' },
    tolerance: { type: 'string', multiple: true, repeatValues: true, value: 'T', description: 'allowed |actual - expected| / max(1, |expected|): one for all samples or one per --sample (default 1e-4)', check: toleranceCheck },
    out: { type: 'string', value: 'PATH', description: 'bundle file, or a directory for NAME-VERSION.efb; default: NAME-VERSION.efb here' },
    force: { type: 'boolean', description: 'replace an existing bundle file' },
    encrypt: { type: 'boolean', description: 'encrypt every file with a new content key (a sealed model: docs/security.md)' },
    'key-out': { type: 'string', value: 'FILE', description: 'with --encrypt: where the content key goes (mode 0600); default NAME-VERSION.key beside the bundle' },
  },
  check: packProblems,
  async run(args, ctx) {
    const manifestPath = resolve(ctx.cwd, reqString(args, 'manifest'));
    const modelPath = resolve(ctx.cwd, reqString(args, 'model'));
    const manifest = readManifestFile(manifestPath);
    if (manifest.created === undefined) manifest.created = ctx.now().toISOString();
    const entry = typeof manifest.entrypoint === 'string' ? manifest.entrypoint : basename(modelPath);
    manifest.entrypoint = entry;
    const samples = sampleFlags(args, ctx.cwd);
    if (samples.samples.length > 0) manifest.samples = [...(Array.isArray(manifest.samples) ? manifest.samples as unknown[] : []), ...samples.samples];
    const files = [
      { path: entry, source: modelPath },
      ...optStrings(args, 'file').map((f) => ({ path: basename(f), source: resolve(ctx.cwd, f) })),
      ...samples.files,
    ];
    for (const f of files) {
      if (!existsSync(f.source) || !statSync(f.source).isFile()) throw new AppError('NOT_FOUND', `${f.source}: no such file (for bundle path "${f.path}")`);
    }
    const outArg = optString(args, 'out');
    const out = bundleOutPath(outArg, ctx.cwd, ctx.cwd, () => defaultBundleName(manifest, manifestPath), optBool(args, 'force'));
    const encrypt = optBool(args, 'encrypt');
    const keyOutArg = optString(args, 'key-out');
    const keyOut = encrypt ? (keyOutArg === undefined ? out.replace(/\.efb$/, '') + '.key' : resolve(ctx.cwd, keyOutArg)) : undefined;
    // The content key exists once: where it goes is checked before the work, and it is written before the
    // bundle is moved into place (out-file.ts), so an encrypted bundle never stands without its key.
    if (keyOut) {
      if (keyOut === out) throw new AppError('CONFLICT', `--key-out ${keyOut} is the bundle's own path; expected another file for the content key`);
      checkOutFile(keyOut, keyOutArg === undefined ? 'content key file' : '--key-out', { force: optBool(args, 'force') });
    }
    const contentKey = encrypt ? newContentKey() : undefined;
    // A progress bar on a terminal while large model files are hashed.
    const bar = new ProgressBar(ctx.stderr, { label: 'hashing', total: files.reduce((n, f) => n + (existsSync(f.source) ? statSync(f.source).size : 0), 0) });
    let pf: PreflightResult | undefined;
    let backends: ModelBackends | undefined;
    // onnxruntime-node's session is released before onnxruntime-web loads the model (model-backends.ts).
    const check = async (source: string, m: Manifest, sourceOf: (p: string) => string) => {
      bar.done();
      waitNote(ctx.stderr, `checking ${m.name}@${m.version} with onnxruntime (io, warm-up${m.samples?.length ? `, ${m.samples.length} sample(s)` : ''}, native and wasm backends)`);
      pf = await checkPackedModel(source, m, sourceOf);
      backends = await modelBackends(source, undefined);
      waitNote(ctx.stderr, `writing ${out}${contentKey ? ', encrypting every file' : ''}`);
    };
    const packTo = (path: string) => packBundle({ manifest, files, out: path, check, onProgress: (done) => bar.update(done), ...(contentKey ? { encrypt: { key: contentKey } } : {}) });
    const r = contentKey && keyOut
      ? await commitSealedBundle(out, keyOut, packTo, (p) => writeContentKeyFile(keyOut, contentKey, { model: p.manifest.name, version: p.manifest.version }))
      : await packTo(out);
    bar.done();
    if (contentKey && keyOut) {
      ctx.stdout.write(`encrypted with content key ${shortId(contentKeyId(contentKey))}, written to ${keyOut} (mode 0600): keep it secret; "edgefleet model push --content-key" gives it to the hub\n`);
    }
    const sampleNote = pf ? `, ${pf.samples} sample(s) ran` : '';
    ctx.stdout.write(
      `packed ${out}: ${r.manifest.name}@${r.manifest.version}, ${r.manifest.files.length} file(s), ${formatBytes(r.size)}, manifest sha256 ${r.manifestSha256}${sampleNote}\n`
      + `${backends ? `backends: ${describeBackends(backends)}\n` : ''}`
      + `unsigned: sign it with "edgefleet model sign ${out} --key RELEASE.key"\n`,
    );
    const warning = backends ? backendsWarning(backends, `${r.manifest.name}@${r.manifest.version}`) : undefined;
    if (warning) ctx.stderr.write(warning);
    return 0;
  },
};

export const modelSign: Command = {
  summary: 'Add a release signature to a bundle (signing twice with one key is a no-op)',
  usage: 'BUNDLE --key FILE',
  details: 'Verifies every file of the bundle, then signs the canonical manifest with the release key and rewrites\nthe bundle atomically.',
  positionals: [{ name: 'BUNDLE', description: 'the .efb file', required: true }],
  options: { key: { type: 'string', required: true, value: 'FILE', description: 'release secret key file (NAME.key)' } },
  async run(args, ctx) {
    const bundle = resolve(ctx.cwd, args.positionals[0] as string);
    const key = await readSecretKeyFile(resolve(ctx.cwd, reqString(args, 'key')));
    // Every file is hashed before signing: a bar on a terminal for a big model.
    const bar = new ProgressBar(ctx.stderr, { label: 'verifying', total: bundleBytes(bundle) });
    const r = await signBundle(bundle, key, { onBytes: (n) => bar.tick(n) });
    bar.done();
    if (r.added) ctx.stdout.write(`signed ${bundle} with release key ${key.name} (${shortId(r.keyId)}); ${r.signatures} signature(s)\n`);
    else ctx.stdout.write(`${bundle} is already signed by release key ${key.name} (${shortId(r.keyId)}); nothing changed (${r.signatures} signature(s))\n`);
    return 0;
  },
};

export const modelVerify: Command = {
  summary: 'Verify a bundle against a trust document: files, manifest, release signatures',
  usage: 'BUNDLE --trust FILE',
  details:
    'Checks what an agent checks before installing: the trust document (root threshold, expiry), the bundle\'s\n'
    + 'structure (no paths outside it, nothing unlisted), every file\'s size and sha256, a threshold of\n'
    + 'valid release signatures over the manifest, and the model: it loads in onnxruntime, its inputs and outputs\n'
    + 'match the manifest io, it warms up and its samples pass (not for an encrypted bundle). Prints one line:\n'
    + 'OK ... or error [CODE]: what failed.',
  positionals: [{ name: 'BUNDLE', description: 'the .efb file', required: true }],
  options: { trust: { type: 'string', required: true, value: 'FILE', description: 'trust.json' } },
  async run(args, ctx) {
    const trust = loadTrust(ctx, reqString(args, 'trust'));
    const bundle = resolve(ctx.cwd, args.positionals[0] as string);
    const bar = new ProgressBar(ctx.stderr, { label: 'verifying', total: bundleBytes(bundle) });
    const v = await verifyBundle(bundle, trust, { onBytes: (n) => bar.tick(n) });
    bar.done();
    // A bundle not made by `model pack` (a tar packed by hand, then signed) may hold a model that does not
    // match its manifest: every agent would refuse it at install, so it fails here (MODEL_IO_MISMATCH).
    if (!v.manifest.encryption) waitNote(ctx.stderr, `loading ${v.manifest.name}@${v.manifest.version} with onnxruntime (io, warm-up, samples)`);
    const m = await checkBundleModel(bundle, v.manifest);
    const t = v.threshold;
    const extra = t.ignored.length ? `; ${t.ignored.length} signature(s) by keys outside the release role ignored` : '';
    const model = !m.checked ? '; model not loaded (encrypted)' : m.samples ? `, model loads and matches its io, ${m.samples} sample(s) passed` : ', model loads and matches its io';
    ctx.stdout.write(
      `OK ${v.manifest.name}@${v.manifest.version}: ${t.valid.length} of threshold ${t.threshold} release signatures valid `
      + `(keys ${t.valid.map(shortId).join(', ')}), ${v.files.length} files verified${model}${extra}\n`,
    );
    return 0;
  },
};

function signatureRows(info: BundleInfo, trust: TrustBody | undefined): string[][] {
  const t = trust ? checkThreshold(trust, 'release', manifestSigningBytes(info), info.signatures.signatures) : undefined;
  return info.signatures.signatures.map((s) => {
    let status = 'not checked (use --trust)';
    if (t) status = t.valid.includes(s.keyId) ? 'valid' : t.ignored.includes(s.keyId) ? 'not a trusted release key' : 'INVALID';
    return [s.keyId, s.alg, status];
  });
}

function inspectText(path: string, info: BundleInfo, trust: TrustBody | undefined): string {
  const m = info.manifest;
  const shape = (s: number[]) => `[${s.join(', ')}]`;
  let s = keyValues([
    ['bundle', `${path} (${formatBytes(info.size)})`],
    ['name', m.name],
    ['version', m.version],
    ['created', m.created],
    ['description', m.description || '-'],
    ['manifest sha256', info.manifestSha256],
    ['entrypoint', m.entrypoint],
    ['runtime', `opset ${m.runtime.opset}, agent >= ${m.runtime.minAgentVersion}, providers ${m.runtime.executionProviders.join(', ')}`
      + `${m.runtime.intraOpThreads ? `, intra-op threads ${m.runtime.intraOpThreads}` : ''}${m.runtime.interOpThreads ? `, inter-op threads ${m.runtime.interOpThreads}` : ''}`],
    ['policy', `max error rate ${m.policy.maxErrorRate}, max p95 ${m.policy.maxP95LatencyMs} ms, window ${m.policy.observationWindowSec} s, min requests ${m.policy.minRequests}`],
  ]);
  s += `\nfiles (not hashed here; "model verify" does):\n${table(['path', 'size', 'sha256'], m.files.map((f) => [f.path, String(f.size), f.sha256]), '  ')}`;
  s += `\ninputs:\n${table(['name', 'datatype', 'shape'], m.io.inputs.map((t) => [t.name, t.datatype, shape(t.shape)]), '  ')}`;
  s += `outputs:\n${table(['name', 'datatype', 'shape'], m.io.outputs.map((t) => [t.name, t.datatype, shape(t.shape)]), '  ')}`;
  s += m.features?.length
    ? `\nfeatures:\n${table(['index', 'name', 'kind', 'unit', 'input'], m.features.map((f) => [String(f.index), f.name, f.kind, f.unit ?? '', f.input ?? m.io.inputs[0]?.name ?? '']), '  ')}`
    : '\nfeatures: none (not a tabular model)\n';
  if (m.samples?.length) s += `samples:\n${table(['request', 'expected', 'tolerance'], m.samples.map((x) => [x.request, x.expected ?? '-', x.tolerance === undefined ? 'default' : String(x.tolerance)]), '  ')}`;
  if (m.reference) s += `reference: ${m.reference.id} (${m.reference.rows} rows; ${m.reference.features.length} feature and ${m.reference.outputs.length} output profiles)\n`;
  const p = m.provenance;
  const kv = (r: Record<string, unknown>) => Object.entries(r).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || '-';
  s += `\nprovenance:\n${keyValues([
    ['reason', p.reason],
    ['training', `${p.training.code}${p.training.commit ? ` @ ${p.training.commit}` : ''}${p.training.algorithm ? ` (${p.training.algorithm})` : ''}`],
    ['hyperparameters', kv(p.training.hyperparameters)],
    ['metrics', kv(p.metrics)],
    ['baseline', p.baseline ? `${p.baseline.name}: ${kv(p.baseline.metrics)}` : '-'],
  ], '  ')}`;
  if (p.data.length) s += `  data:\n${table(['name', 'rows', 'sha256'], p.data.map((d) => [d.name, String(d.rows), d.sha256]), '    ')}`;
  const defs = Object.entries(p.featureDefinitions);
  if (defs.length) s += `  feature definitions:\n${defs.map(([k, v]) => `    ${k}: ${v}\n`).join('')}`;
  const rows = signatureRows(info, trust);
  s += `\nsignatures (${rows.length}):\n${rows.length ? table(['keyId', 'alg', 'status'], rows, '  ') : '  none: sign with "edgefleet model sign"\n'}`;
  return s;
}

export const modelInspect: Command = {
  summary: 'Show a bundle\'s name, version, io, features, provenance and signatures',
  usage: 'BUNDLE [--json] [--trust FILE]',
  details: 'Reads the manifest and signatures without hashing the files (use "model verify" for that). With --trust,\neach signature is marked valid, not trusted or invalid.',
  positionals: [{ name: 'BUNDLE', description: 'the .efb file', required: true }],
  options: {
    json: { type: 'boolean', description: 'print {bundle, size, manifestSha256, manifest, signatures} as JSON' },
    trust: { type: 'string', value: 'FILE', description: 'trust.json, to check each signature' },
  },
  async run(args, ctx) {
    const path = resolve(ctx.cwd, args.positionals[0] as string);
    const trustPath = optString(args, 'trust');
    const trust = trustPath === undefined ? undefined : loadTrust(ctx, trustPath);
    const info = await readBundle(path, { verifyFiles: false });
    if (optBool(args, 'json')) {
      const status = signatureRows(info, trust).map((r) => r[2]);
      const signatures = info.signatures.signatures.map((sig, i) => ({ ...sig, ...(trust ? { status: status[i] } : {}) }));
      ctx.stdout.write(`${JSON.stringify({ bundle: path, size: info.size, manifestSha256: info.manifestSha256, manifest: info.manifest, signatures }, null, 2)}\n`);
    } else {
      ctx.stdout.write(inspectText(path, info, trust));
    }
    return 0;
  },
};
