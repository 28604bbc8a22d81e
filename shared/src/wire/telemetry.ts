// Device → hub telemetry (summary windows), events, and hub → device acks.
// Windows and events share the device's one outbox `seq` space, so one ack covers both.
import { z } from 'zod';
import { Count, DeviceId, IsoTime, ModelName, SemVer, Sha256Hex, schemaTag } from './common.js';
import { CategoricalSketch, HistogramSketch, LatencySketch, MomentsSketch } from '../sketch/schema.js';

export const FeatureSummary = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('numeric'), name: z.string(), hist: HistogramSketch.optional(), moments: MomentsSketch, nulls: Count, nans: Count }),
  z.object({ kind: z.literal('categorical'), name: z.string(), cat: CategoricalSketch, nulls: Count }),
]);
export type FeatureSummary = z.infer<typeof FeatureSummary>;

export const OutputSummary = z.object({ name: z.string(), index: Count, hist: HistogramSketch.optional(), moments: MomentsSketch });
export type OutputSummary = z.infer<typeof OutputSummary>;

/** Per input tensor moments over all its elements (for non-tabular models). */
export const InputSummary = z.object({ name: z.string(), moments: MomentsSketch, nans: Count });
export type InputSummary = z.infer<typeof InputSummary>;

export const SummaryWindow = z.object({
  model: ModelName,
  version: SemVer,
  referenceId: Sha256Hex.optional(),
  /** UTC-aligned start of the window. */
  start: IsoTime,
  lengthSec: z.number().int().positive(),
  count: Count,
  errors: z.record(z.string(), Count),
  latency: LatencySketch,
  features: z.array(FeatureSummary),
  outputs: z.array(OutputSummary),
  inputs: z.array(InputSummary).default([]),
});
export type SummaryWindow = z.infer<typeof SummaryWindow>;

export const SeqWindow = SummaryWindow.extend({ seq: z.number().int().positive() });
export type SeqWindow = z.infer<typeof SeqWindow>;

export const TELEMETRY_SCHEMA = 'edgefleet.telemetry/v1' as const;
export const TelemetryBatch = z.object({ schema: schemaTag(TELEMETRY_SCHEMA), deviceId: DeviceId, windows: z.array(SeqWindow).min(1) });
export type TelemetryBatch = z.infer<typeof TelemetryBatch>;

export const EventKind = z.enum([
  'download_started', 'download_progress', 'verifying', 'installed', 'activating', 'activated', 'install_failed',
  'desired_refused', 'rolled_back', 'policy_breach', 'bit_rot', 'trust_rotated', 'trust_refused',
  'backlog_compacted', 'backlog_dropped', 'error',
]);
export type EventKind = z.infer<typeof EventKind>;

export const DeviceEvent = z.object({
  seq: z.number().int().positive(),
  at: IsoTime,
  kind: EventKind,
  model: ModelName.optional(),
  version: SemVer.optional(),
  code: z.string().optional(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

export const EVENTS_SCHEMA = 'edgefleet.events/v1' as const;
export const EventBatch = z.object({ schema: schemaTag(EVENTS_SCHEMA), deviceId: DeviceId, events: z.array(DeviceEvent).min(1) });
export type EventBatch = z.infer<typeof EventBatch>;

/** Inclusive [from, to] seq ranges the hub has persisted. */
export const SeqRange = z.tuple([z.number().int().positive(), z.number().int().positive()]).refine(([a, b]) => a <= b, { error: 'expected from <= to' });
export const ACK_SCHEMA = 'edgefleet.ack/v1' as const;
export const Ack = z.object({ schema: schemaTag(ACK_SCHEMA), ranges: z.array(SeqRange) });
export type Ack = z.infer<typeof Ack>;

export { IsoTime };
