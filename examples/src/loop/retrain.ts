// The training pipeline's work in the loop example (docs/drift.md "The loop, end to end"): capture a
// sample of the drifted cohort's requests (sealed on the boxes to the operators' capture key), fetch
// the ciphertext from the hub and open it here with the private key, label the rows, retrain the
// example model with the TypeScript trainer on them, pack and sign the bundle with the release key,
// and push it to the registry. Library functions throughout (the fleet helpers' REST client, the
// shared crypto, the example's trainer and packer); no CLI processes.
import { openRows, verifyBundle, type BoxKeyPair, type Capture, type CaptureChunkPage, type CapturedRow, type ModelVersionInfo, type TrustBody } from '@edgefleet/shared';
import { pushBundle, waitFor, type HubHandle } from '../fleet/index.js';
import { buildExampleBundle, type Keys } from '../testkit/fixtures.js';
import { N_FEATURES, VIBRATION_FEATURES, generateVibration, type Dataset } from '../vibration/data.js';
import { binaryMetrics, type BinaryMetrics } from '../vibration/metrics.js';
import { runOrt } from '../vibration/pipeline.js';

export interface CaptureSpec {
  model: string;
  version: string;
  devices: string[];
  /** Requests per device (each request is several rows). */
  maxRows: number;
  /** How long the devices may take to capture them. */
  durationSec: number;
  reason: string;
}

/** Starts a capture on `devices` and waits until each device's part ended (done, budget_full, ...). */
export async function captureCohort(hub: HubHandle, s: CaptureSpec, o: { timeoutMs: number; interrupted: () => string | null; log: (l: string) => void }): Promise<Capture> {
  const c = await hub.api<Capture>('POST', '/captures', {
    model: s.model, version: s.version, target: { devices: s.devices }, rate: 1, maxRows: s.maxRows, durationSec: s.durationSec, reason: s.reason,
  });
  o.log(`capture ${c.id}: ${s.model} ${s.version} on ${c.devices.length} device(s), ${s.maxRows} request(s) each, sealed to capture key ${c.keyId.slice(0, 12)}…`);
  let last = '';
  // waitFor retries a check that throws, so an interruption comes back as a value (as in start.ts).
  const end = await waitFor(`capture ${c.id}: every device to finish its ${s.maxRows} request(s)`, async () => {
    if (o.interrupted()) return 'interrupted' as const;
    const v = await hub.api<Capture>('GET', `/captures/${c.id}`);
    const line = v.devices.map((d) => `${d.deviceId} ${d.status} ${d.rows}`).join(', ');
    if (line !== last) o.log(`capture ${c.id}: ${line}`);
    last = line;
    return v.devices.every((d) => d.status !== 'pending' && d.status !== 'capturing') ? v : undefined;
  }, { timeoutMs: o.timeoutMs, intervalMs: 1000 });
  if (end === 'interrupted') throw new Error(`interrupted (${o.interrupted()}) while capturing`);
  return end;
}

/** Every captured request of capture `id`, fetched a page at a time and opened with the operators' key. */
export async function fetchCaptured(hub: HubHandle, id: number, key: BoxKeyPair): Promise<CapturedRow[]> {
  const out: CapturedRow[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: CaptureChunkPage = await hub.api<CaptureChunkPage>('GET', `/captures/${id}/chunks${after ? `?after=${after}` : ''}`);
    for (const c of page.chunks) {
      const plain = openRows(c.sealed, key, `capture ${id} chunk ${c.seq} of ${c.deviceId}`);
      for (const line of plain.toString('utf8').split('\n')) if (line) out.push(JSON.parse(line) as CapturedRow);
      plain.fill(0);
    }
    after = page.next;
  }
  return out;
}

/** A row's 12 features as the agent saw them (float32), the key of the label lookup. */
const rowKey = (values: ArrayLike<number>) => Array.from(values, (v) => Math.fround(v)).join(',');

/**
 * The "labelling step": the example's traffic is drawn from a synthetic dataset whose labels are known
 * (examples/src/vibration/data.ts), so each captured row gets the label of the row it is in that
 * dataset, as a maintenance log would confirm it in real life. Rows not found there are dropped.
 */
export function labelCaptured(rows: readonly CapturedRow[], labelled: Dataset): { data: Dataset; requests: number; unlabelled: number } {
  const labels = new Map<string, number>();
  for (let r = 0; r < labelled.rows; r++) labels.set(rowKey(labelled.x.subarray(r * N_FEATURES, (r + 1) * N_FEATURES)), labelled.y[r] as number);
  const x: number[] = [];
  const y: number[] = [];
  let unlabelled = 0;
  for (const req of rows) {
    const cols = VIBRATION_FEATURES.map((f) => req.inputs[f.name]);
    if (!cols.every((c): c is number[] => Array.isArray(c) && c.length === (cols[0] as unknown[]).length)) {
      unlabelled++;
      continue;
    }
    for (let i = 0; i < (cols[0] as number[]).length; i++) {
      const values = cols.map((c) => c[i] as number);
      const label = labels.get(rowKey(values));
      if (label === undefined) unlabelled++;
      else {
        x.push(...values);
        y.push(label);
      }
    }
  }
  return { data: { x: Float32Array.from(x), y: Uint8Array.from(y), rows: y.length }, requests: rows.length, unlabelled };
}

/** The rows of `a` then those of `b`. */
export function concatDatasets(a: Dataset, b: Dataset): Dataset {
  const x = new Float32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Uint8Array(a.rows + b.rows);
  y.set(a.y);
  y.set(b.y, a.rows);
  return { x, y, rows: a.rows + b.rows };
}

export interface Retrained {
  version: ModelVersionInfo;
  path: string;
  trainRows: number;
  metrics: BinaryMetrics;
  thresholdRule: BinaryMetrics & { threshold: number };
  /** The model it replaces, on the same held-out rows. */
  previous: BinaryMetrics;
}

/** Trains VERSION on `train` (holdout: fresh labelled summer rows; `previous`, the ONNX it replaces, is scored on them too), packs, signs, verifies and pushes it. */
export async function retrainAndPush(hub: HubHandle, o: {
  version: string; train: Dataset; reference: Dataset; uri: string; reason: string; previous: Uint8Array; keys: Keys; trust: TrustBody; dir: string; holdoutRows: number; epochs?: number;
}): Promise<Retrained> {
  const seed = 2026;
  const holdout = generateVibration({ rows: o.holdoutRows, seed, shift: true });
  const b = await buildExampleBundle({
    dir: o.dir, version: o.version, shift: true, keys: o.keys, full: true,
    example: {
      created: new Date().toISOString(), reason: o.reason, ...(o.epochs ? { train: { epochs: o.epochs } } : {}),
      data: { train: o.train, reference: o.reference, holdout, name: 'vibration-winter-plus-captured-summer', uri: o.uri, holdoutUri: `synthetic:vibration?seed=${seed}&shift=true&rows=0-${o.holdoutRows}` },
    },
  });
  await verifyBundle(b.path, o.trust);
  const version = await pushBundle(hub, b.path);
  const previous = binaryMetrics(await runOrt(o.previous, holdout), holdout.y);
  return { version, path: b.path, trainRows: o.train.rows, metrics: b.model.metrics, thresholdRule: b.model.baselines.thresholdRule, previous };
}
