// A telemetry or events batch that fails its schema because of some of its items — a window a broken
// agent built wrong, an event of a kind a newer agent knows and this hub does not — is not dropped
// whole: the items that pass are handled as usual, and those with a usable seq are refused and acked
// (docs/mqtt.md, below the topics table). Dropped whole, the batch was never acked, so the device resent it
// every resendAfterMs for ever and the good windows batched with the bad one were never stored.
import { DeviceEvent, EventBatch, SeqWindow, TelemetryBatch, describePath } from '@edgefleet/shared';
import type { z } from 'zod';
import type { InvalidItem } from './ports.js';

const ENVELOPES = {
  telemetry: { envelope: TelemetryBatch.omit({ windows: true }), field: 'windows', item: SeqWindow },
  events: { envelope: EventBatch.omit({ events: true }), field: 'events', item: DeviceEvent },
} as const;

/** The first issue of a failed item check, named as parseWire names issues: `windows[1].latency.counts[2]: expected number`. */
function firstProblem(at: PropertyKey[], error: z.ZodError): string {
  const i = error.issues[0];
  return `${describePath([...at, ...(i?.path ?? [])])}: ${i?.message ?? 'does not match the schema'}`;
}

/**
 * The batch with only its valid items and the seqs of the invalid ones, or null when it cannot be
 * salvaged: the envelope (schema, deviceId) is wrong, an invalid item has no usable seq (nothing to
 * ack), or no item is invalid (the batch failed for another reason).
 */
export function salvageBatch(kind: 'telemetry', value: unknown): (TelemetryBatch & { invalid: InvalidItem[] }) | null;
export function salvageBatch(kind: 'events', value: unknown): (EventBatch & { invalid: InvalidItem[] }) | null;
export function salvageBatch(kind: 'telemetry' | 'events', value: unknown): ((TelemetryBatch | EventBatch) & { invalid: InvalidItem[] }) | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const spec = ENVELOPES[kind];
  const items = (value as Record<string, unknown>)[spec.field];
  if (!Array.isArray(items) || items.length === 0) return null;
  const envelope = spec.envelope.safeParse(value);
  if (!envelope.success) return null;
  const valid: unknown[] = [];
  const invalid: InvalidItem[] = [];
  for (const [index, item] of items.entries()) {
    const r = spec.item.safeParse(item);
    if (r.success) {
      valid.push(r.data);
      continue;
    }
    const seq = (item as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
    invalid.push({ seq, problem: firstProblem([spec.field, index], r.error) });
  }
  if (invalid.length === 0) return null;
  return { ...envelope.data, [spec.field]: valid, invalid } as unknown as (TelemetryBatch | EventBatch) & { invalid: InvalidItem[] };
}
