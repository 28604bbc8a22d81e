// Model bundle manifest, edgefleet.manifest/v1 (docs/architecture.md section 3).
import { z } from 'zod';
import { Count, IsoTime, ModelName, SemVer, Sha256Hex, schemaTag } from './common.js';
import { MomentsSketch } from '../sketch/schema.js';
import { BundleEncryption, FileEncryptionSchema } from './sealed.js';

/** Open Inference Protocol v2 tensor datatypes. */
export const Datatype = z.enum([
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
]);
export type Datatype = z.infer<typeof Datatype>;

/** A tensor as OIP describes it; -1 is a free dimension; [] is a scalar. */
export const TensorSpec = z.object({
  name: z.string().min(1),
  datatype: Datatype,
  shape: z.array(z.number().int().min(-1, 'expected a dimension >= 0, or -1 for a free dimension')),
});
export type TensorSpec = z.infer<typeof TensorSpec>;

/** A bundle-relative path: no absolute paths, no '..', no backslashes, no empty segments. */
export const BundlePath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), {
    error: 'expected a relative path inside the bundle (no "/" prefix, "..", "." or "\\")',
  });

/** A listed file; `encryption` when the bundle is sealed (sha256 and size are then the ciphertext's). */
export const ManifestFile = z.object({ path: BundlePath, sha256: Sha256Hex, size: Count, encryption: FileEncryptionSchema.optional() });
export type ManifestFile = z.infer<typeof ManifestFile>;

export const Runtime = z.object({
  opset: z.number().int().positive(),
  minAgentVersion: SemVer,
  intraOpThreads: z.number().int().positive().optional(),
  interOpThreads: z.number().int().positive().optional(),
  /** onnxruntime's thread pools spin while waiting; off by default on small boxes (docs/architecture.md section 6). */
  spinning: z.boolean().optional(),
  graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
  executionProviders: z.array(z.string()).default(['cpu']),
  /**
   * Dynamic batching (docs/decisions/0018-dynamic-batching.md): rows per combined run, for a model
   * whose inputs and outputs all have a free first dimension; 1 says the first dimension is not a
   * batch (rows are not independent) and the agent never combines requests for this model.
   */
  maxBatchSize: z.number().int().positive().max(1024).optional(),
  /** With batching "on": how long a request waits for others to join its batch, in µs. */
  maxQueueDelayUs: z.number().int().nonnegative().max(1_000_000).optional(),
});
export type Runtime = z.infer<typeof Runtime>;

/** A named column of an input tensor (by default the first input), so summaries speak of features. */
export const Feature = z.object({
  name: z.string().min(1),
  index: Count,
  input: z.string().optional(),
  kind: z.enum(['numeric', 'categorical']),
  unit: z.string().optional(),
  description: z.string().optional(),
  /** categorical: value i of the vocabulary is encoded as the number i. */
  vocabulary: z.array(z.string()).optional(),
});
export type Feature = z.infer<typeof Feature>;

const Edges = z
  .array(z.number().finite())
  .min(2, 'expected at least two bin edges')
  .refine((e) => e.every((x, i) => i === 0 || x > (e[i - 1] as number)), { error: 'expected strictly increasing bin edges' });

export const NumericReference = z.object({
  kind: z.literal('numeric'),
  name: z.string(),
  edges: Edges,
  counts: z.array(Count),
  under: Count.default(0),
  over: Count.default(0),
  moments: MomentsSketch,
});
export const CategoricalReference = z.object({
  kind: z.literal('categorical'),
  name: z.string(),
  counts: z.record(z.string(), Count),
  other: Count,
});
export const FeatureReference = z.discriminatedUnion('kind', [NumericReference, CategoricalReference]);
export type FeatureReference = z.infer<typeof FeatureReference>;

/** Reference bins for one output column (`index` within the output tensor's last dimension). */
export const OutputReference = z.object({
  name: z.string(),
  index: Count.default(0),
  edges: Edges,
  counts: z.array(Count),
  under: Count.default(0),
  over: Count.default(0),
  moments: MomentsSketch.optional(),
});
export type OutputReference = z.infer<typeof OutputReference>;

/** The training data's profile with fixed bin edges; `id` is sha256 of the canonical JSON of the rest. */
export const Reference = z.object({
  id: Sha256Hex,
  rows: Count,
  features: z.array(FeatureReference).default([]),
  outputs: z.array(OutputReference).default([]),
});
export type Reference = z.infer<typeof Reference>;

export const Provenance = z.object({
  data: z.array(z.object({ name: z.string(), sha256: Sha256Hex, rows: Count, uri: z.string().optional() })),
  featureDefinitions: z.record(z.string(), z.string()).default({}),
  training: z.object({
    code: z.string(),
    commit: z.string().optional(),
    algorithm: z.string().optional(),
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
  }),
  metrics: z.record(z.string(), z.number()),
  baseline: z.object({ name: z.string(), metrics: z.record(z.string(), z.number()) }).optional(),
  reason: z.string().min(1, 'expected the reason for this version'),
});
export type Provenance = z.infer<typeof Provenance>;

/** What the agent watches after switching to this version, and when it rolls back by itself. */
export const Policy = z.object({
  maxErrorRate: z.number().min(0).max(1).default(0.05),
  maxP95LatencyMs: z.number().positive().default(250),
  observationWindowSec: z.number().int().positive().default(300),
  minRequests: z.number().int().nonnegative().default(20),
});
export type Policy = z.infer<typeof Policy>;

/**
 * Samples (docs/decisions/0009-model-samples.md): an OIP v2 infer request body
 * stored in the bundle, optionally with the expected response and a tolerance.
 * They are read into memory at pack and install, hence the limits.
 */
export const MAX_SAMPLES = 16;
export const MAX_SAMPLE_BYTES = 4 << 20;
export const DEFAULT_SAMPLE_TOLERANCE = 1e-4;
export const Sample = z.object({
  request: BundlePath,
  expected: BundlePath.optional(),
  /** |actual - expected| <= tolerance * max(1, |expected|); default DEFAULT_SAMPLE_TOLERANCE. */
  tolerance: z.number().nonnegative().finite().optional(),
});
export type Sample = z.infer<typeof Sample>;

/** The part of an OIP v2 infer response body a sample's expectation uses (other fields are ignored). */
export const InferResponseBody = z.object({
  outputs: z.array(z.object({
    name: z.string().min(1),
    datatype: Datatype.optional(),
    shape: z.array(z.number().int().nonnegative()).optional(),
    data: z.array(z.unknown()),
  })).min(1, 'expected at least one output'),
});
export type InferResponseBody = z.infer<typeof InferResponseBody>;

/** Most classes a classification task may name (a window's confusion matrix is classes²). */
export const MAX_TASK_CLASSES = 64;

/**
 * What the model predicts, for ground-truth feedback and CBPE (docs/drift.md "Accuracy"): which output
 * holds the prediction. Classification: the output has one column per class (argmax; `scores` says
 * whether they are probabilities or logits, softmaxed for the confidence), or one column and two
 * classes (the score of classes[1], threshold 0.5). Regression: column `index` of the output.
 */
export const Task = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('classification'),
    output: z.string().min(1),
    classes: z.array(z.string().min(1)).min(2, 'expected at least two classes').max(MAX_TASK_CLASSES, `expected at most ${MAX_TASK_CLASSES} classes`),
    scores: z.enum(['probability', 'logit']).default('probability'),
  }),
  z.object({ kind: z.literal('regression'), output: z.string().min(1), index: Count.default(0) }),
]);
export type Task = z.infer<typeof Task>;

export const MANIFEST_SCHEMA = 'edgefleet.manifest/v1' as const;
export const Manifest = z
  .object({
    schema: schemaTag(MANIFEST_SCHEMA),
    name: ModelName,
    version: SemVer,
    created: IsoTime,
    description: z.string().default(''),
    files: z.array(ManifestFile).min(1, 'expected at least one file'),
    entrypoint: BundlePath,
    runtime: Runtime,
    io: z.object({ inputs: z.array(TensorSpec).min(1), outputs: z.array(TensorSpec).min(1) }),
    features: z.array(Feature).optional(),
    reference: Reference.optional(),
    samples: z.array(Sample).max(MAX_SAMPLES, `expected at most ${MAX_SAMPLES} samples`).optional(),
    /** What the model predicts (feedback and CBPE); absent: labels for it are refused. */
    task: Task.optional(),
    provenance: Provenance,
    policy: Policy.default({ maxErrorRate: 0.05, maxP95LatencyMs: 250, observationWindowSec: 300, minRequests: 20 }),
    /** Present when the files are encrypted (docs/decisions/0029-sealed-models.md). */
    encryption: BundleEncryption.optional(),
  })
  .superRefine((m, ctx) => {
    const paths = new Set<string>();
    m.files.forEach((f, i) => {
      if (!!m.encryption !== !!f.encryption) {
        ctx.addIssue({ code: 'custom', path: ['files', i, 'encryption'], message: m.encryption ? 'expected every file of an encrypted bundle to say how it is encrypted' : 'a file is encrypted but the manifest has no "encryption"' });
      }
      if (paths.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `duplicate file path "${f.path}"` });
      paths.add(f.path);
      if (f.path === 'manifest.json' || f.path === 'signatures.json') {
        ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `"${f.path}" is reserved` });
      }
    });
    if (!paths.has(m.entrypoint)) {
      ctx.addIssue({ code: 'custom', path: ['entrypoint'], message: `expected entrypoint "${m.entrypoint}" to be one of files[].path` });
    }
    for (const [i, smp] of (m.samples ?? []).entries()) {
      for (const key of ['request', 'expected'] as const) {
        const p = smp[key];
        if (p === undefined) continue;
        const f = m.files.find((x) => x.path === p);
        if (!f) ctx.addIssue({ code: 'custom', path: ['samples', i, key], message: `expected "${p}" to be one of files[].path` });
        else if (f.size > MAX_SAMPLE_BYTES) ctx.addIssue({ code: 'custom', path: ['samples', i, key], message: `"${p}" is ${f.size} bytes; expected at most ${MAX_SAMPLE_BYTES}` });
      }
    }
    const inputs = new Set(m.io.inputs.map((t) => t.name));
    const seen = new Set<string>();
    (m.features ?? []).forEach((f, i) => {
      const input = f.input ?? m.io.inputs[0]?.name ?? '';
      if (!inputs.has(input)) ctx.addIssue({ code: 'custom', path: ['features', i, 'input'], message: `expected one of the io inputs, got "${input}"` });
      const key = `${input}#${f.index}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['features', i, 'index'], message: `column ${f.index} of "${input}" is named twice` });
      seen.add(key);
      if (f.kind === 'categorical' && !f.vocabulary) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'vocabulary'], message: 'expected a vocabulary for a categorical feature' });
      }
    });
    for (const [i, r] of (m.reference?.features ?? []).entries()) {
      if (r.kind === 'numeric' && r.counts.length !== r.edges.length - 1) {
        ctx.addIssue({ code: 'custom', path: ['reference', 'features', i, 'counts'], message: `expected ${r.edges.length - 1} counts for ${r.edges.length} edges` });
      }
    }
    for (const [i, r] of (m.reference?.outputs ?? []).entries()) {
      if (r.counts.length !== r.edges.length - 1) {
        ctx.addIssue({ code: 'custom', path: ['reference', 'outputs', i, 'counts'], message: `expected ${r.edges.length - 1} counts for ${r.edges.length} edges` });
      }
    }
    if (m.task) {
      const out = m.io.outputs.find((o) => o.name === m.task!.output);
      if (!out) ctx.addIssue({ code: 'custom', path: ['task', 'output'], message: `expected one of the io outputs, got "${m.task.output}"` });
      const cols = out?.shape.length ? out.shape[out.shape.length - 1] : 1;
      if (out && m.task.kind === 'classification' && cols !== -1 && cols !== m.task.classes.length && !(cols === 1 && m.task.classes.length === 2)) {
        ctx.addIssue({ code: 'custom', path: ['task', 'classes'], message: `output "${out.name}" has ${cols} columns: expected one per class (${m.task.classes.length}), or one column for two classes` });
      }
    }
  });
export type Manifest = z.infer<typeof Manifest>;
/** The manifest as an author writes it before `model pack` fills in files. */
export type ManifestInput = z.input<typeof Manifest>;
