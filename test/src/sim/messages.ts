// Valid device messages for the fleet simulator, built to the shared wire schemas.
import {
  ACK_SCHEMA, EVENTS_SCHEMA, LATENCY_BOUNDS_MS, PRESENCE_SCHEMA, STATE_SCHEMA, TELEMETRY_SCHEMA,
  type DeviceEvent, type EventBatch, type FeatureSummary, type Presence, type ReportedModel, type ReportedState, type SeqWindow, type TelemetryBatch,
} from '@edgefleet/shared';

export function simState(deviceId: string, at: Date, lastAppliedSeq = 0, models?: ReportedModel[]): ReportedState {
  return {
    schema: STATE_SCHEMA, deviceId, at: at.toISOString(), agentVersion: '0.1.0', lastAppliedSeq, trustVersion: 1,
    models: models ?? [{ name: SIM_MODEL.name, active: SIM_MODEL.version, previous: null, installed: [SIM_MODEL.version], status: 'active', target: null }],
    capabilities: ['sim'],
  };
}

export function simPresence(online: boolean, at: Date): Presence {
  return { schema: PRESENCE_SCHEMA, online, at: at.toISOString() };
}

/** Shape of a simulated summary window: numeric features × fixed bins (the agent's example model has 12 × 10). */
export interface WindowShape {
  features: number;
  bins: number;
  /** Also carry label counts of a 2-class confusion matrix and CBPE confidence sums (docs/drift.md "Accuracy"). */
  feedback?: boolean;
}

const TINY: WindowShape = { features: 1, bins: 3 };

/** The model version simulated devices report on (the hub accepts windows only for versions a device runs). */
export interface SimModel {
  name: string;
  version: string;
}
export const SIM_MODEL: SimModel = { name: 'sim-model', version: '1.0.0' };

/**
 * One summary window with the device's outbox seq; counts vary with seq so windows differ. Plausible
 * as the hub checks it (hub/src/ingest/plausibility.ts): one latency sample per prediction, no
 * feature bins more rows than the window counts, and moments their min and max allow (values in [0, 1]:
 * m2 at most n / 4) whatever the seq and the number of features.
 */
export function simWindow(seq: number, at: Date, shape: WindowShape = TINY, model: SimModel = SIM_MODEL): SeqWindow {
  const start = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
  const hist = (i: number) => ({ counts: Array.from({ length: shape.bins }, (_, b) => 10 + ((seq + i + b) % 3) - 1), under: 0, over: 0 });
  const hists = Array.from({ length: shape.features }, (_, i) => hist(i));
  const count = Math.max(10 * shape.bins, ...hists.map((h) => h.counts.reduce((a, x) => a + x, 0)));
  const features: FeatureSummary[] = hists.map((h, i) => ({
    kind: 'numeric', name: shape.features === 1 ? 'x' : `f${i}`, hist: h,
    moments: { n: count, mean: 0.5 + (i % 40) / 100, m2: 1.2 + (seq % 1000) / 1000, min: 0, max: 1 }, nulls: 0, nans: 0,
  }));
  const latency = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, () => 0);
  latency[Math.min(20, latency.length - 1)] = count;
  return {
    seq, model: model.name, version: model.version, start, lengthSec: 60, count, errors: {},
    latency: { counts: shape === TINY ? [0, count - 6, 6, 0] : latency, sumMs: count * 0.3 },
    features,
    outputs: [{ name: 'y', index: 0, hist: { counts: [count - 4, 4], under: 0, over: 0 }, moments: { n: count, mean: 0.4, m2: 0.9, min: 0, max: 1 } }],
    inputs: [],
    ...(shape.feedback ? { feedback: { labelled: 20, correct: 17, confusion: [12, 1, 2, 5] }, confidence: { n: count, sum: count * 0.83 } } : {}),
  };
}

/** A telemetry batch of one window per seq. */
export function simTelemetry(deviceId: string, seq: number | number[], at: Date, shape?: WindowShape, model?: SimModel): TelemetryBatch {
  const seqs = Array.isArray(seq) ? seq : [seq];
  return { schema: TELEMETRY_SCHEMA, deviceId, windows: seqs.map((q) => simWindow(q, at, shape, model)) };
}

export function simEvents(deviceId: string, events: DeviceEvent[]): EventBatch {
  return { schema: EVENTS_SCHEMA, deviceId, events };
}

export { ACK_SCHEMA };
