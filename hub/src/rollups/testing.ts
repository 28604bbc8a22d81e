// Test helpers for rollups, drift and alerts: a registry row with a given features/reference (no
// bundle: rollups read only the manifest), and summary windows sampled from a distribution on the
// reference's edges, recorded as an agent records them. Used by tests and benches only.
import {
  addCategory, addLatency, addMoment, addToHistogram, emptyWindow, type Feature, type Reference, type SummaryWindow, type TensorSpec,
} from '@edgefleet/shared';
import { makeRng } from '@edgefleet/examples';
import type { Db } from '../store/db.js';

/** Adds model NAME@VERSION to the registry tables with only what rollups read (features, reference). */
export function registerVersion(db: Db, name: string, version: string, manifest: { features?: Feature[]; reference?: Reference; io?: { inputs: TensorSpec[]; outputs: TensorSpec[] } }): void {
  const sha = 'f'.repeat(64);
  db.prepare('INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?, 0, ?)').run(sha, new Date(0).toISOString());
  db.prepare(
    `INSERT INTO model_versions (name, version, manifest, manifest_sha256, signatures, bundle_sha256, bundle_size, created_at, pushed_by)
     VALUES (?, ?, ?, ?, '[]', ?, 0, ?, 'test')`,
  ).run(name, version, JSON.stringify({ name, version, ...manifest }), 'e'.repeat(64), sha, new Date(0).toISOString());
}

/** A numeric `temp` (edges 0..10) and a categorical `mode` (idle, run, stop) with a `score` output on quarters, as several rollup tests use. */
export const TEMP_MODE_FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' },
  { name: 'mode', index: 1, kind: 'categorical', vocabulary: ['idle', 'run', 'stop'] },
];
export function tempModeReference(id: string): Reference {
  return {
    id, rows: 672,
    features: [numericReference('temp'), { kind: 'categorical', name: 'mode', counts: { idle: 300, run: 300, stop: 72 }, other: 0 }],
    outputs: [{ name: 'score', index: 0, edges: [0, 0.25, 0.5, 0.75, 1], counts: [1, 2, 3, 4], under: 0, over: 0 }],
  };
}

/** Edges 0..10 in steps of 1 (10 bins) for a numeric feature `name`, reference N(5, 1.5²)-like counts. */
export function numericReference(name: string, edges = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], counts = [1, 5, 30, 100, 200, 200, 100, 30, 5, 1]): Reference['features'][number] {
  return { kind: 'numeric', name, edges, counts, under: 0, over: 0, moments: { n: counts.reduce((a, b) => a + b, 0), mean: 5, m2: 0, min: 0, max: 10 } };
}

export interface SampleSpec {
  /** Numeric features: value generator. */
  numeric?: Record<string, () => number>;
  /** Categorical features: value generator (a string). */
  categorical?: Record<string, () => string>;
  outputs?: Record<string, () => number>;
  latencyMs?: () => number;
  /** Probability that a request fails with this code instead. */
  errors?: Record<string, number>;
}

/**
 * A window of `n` requests at `start` recorded like the agent: sampled from `spec`, binned on the
 * version's reference edges. `rand` is the source of randomness (seeded in tests). `ioOutputs`: the
 * manifest's output tensors; those no reference output covers are sent with moments only, as the agent
 * sends them (agent/src/summaries/layout.ts).
 */
export function sampleWindow(
  meta: { model: string; version: string; start: number; lengthSec?: number },
  features: readonly Feature[],
  reference: Reference,
  n: number,
  spec: SampleSpec,
  rand: () => number,
  ioOutputs: readonly string[] = [],
): SummaryWindow {
  const covered = new Set(reference.outputs.map((o) => (ioOutputs.includes(o.name) ? o.name : ioOutputs[0])));
  const w = emptyWindow(
    { model: meta.model, version: meta.version, referenceId: reference.id, start: meta.start, lengthSec: meta.lengthSec ?? 60, align: false },
    {
      features: features.map((f) => {
        const r = reference.features.find((x) => x.name === f.name);
        return { name: f.name, kind: f.kind, ...(r?.kind === 'numeric' ? { bins: r.edges.length - 1 } : {}) };
      }),
      outputs: [
        ...reference.outputs.map((o) => ({ name: o.name, index: o.index, bins: o.edges.length - 1 })),
        ...ioOutputs.filter((o) => !covered.has(o)).map((name) => ({ name, index: 0 })),
      ],
    },
  );
  for (let i = 0; i < n; i++) {
    w.count++;
    const ms = spec.latencyMs?.() ?? 2;
    let failed: string | null = null;
    for (const [code, p] of Object.entries(spec.errors ?? {})) if (failed === null && rand() < p) failed = code;
    addLatency(w.latency, ms);
    if (failed) {
      w.errors[failed] = (w.errors[failed] ?? 0) + 1;
      addLatency((w.errorLatency ??= { counts: new Array<number>(w.latency.counts.length).fill(0), sumMs: 0 }), ms);
      continue;
    }
    for (const f of w.features) {
      const decl = features.find((x) => x.name === f.name);
      if (f.kind === 'numeric') {
        const x = spec.numeric?.[f.name]?.() ?? 5;
        const r = reference.features.find((y) => y.name === f.name);
        if (f.hist && r?.kind === 'numeric') addToHistogram(f.hist, r.edges, x);
        addMoment(f.moments, x);
      } else {
        addCategory(f.cat, decl?.vocabulary ?? [], spec.categorical?.[f.name]?.() ?? decl?.vocabulary?.[0] ?? '');
      }
    }
    for (const o of w.outputs) {
      const x = spec.outputs?.[o.name]?.() ?? 0.5;
      const r = reference.outputs.find((y) => y.name === o.name);
      if (o.hist && r) addToHistogram(o.hist, r.edges, x);
      addMoment(o.moments, x);
    }
  }
  return w;
}

/** Uniform [0, 1) and Normal(mean, sd) generators from one seeded source (examples' mulberry32). */
export function seeded(seed: number): () => number {
  const rng = makeRng(seed);
  return () => rng.next();
}

/** Normal(mean, sd) from a uniform source (Box-Muller). */
export function normal(rand: () => number, mean: number, sd: number): () => number {
  return () => mean + sd * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
