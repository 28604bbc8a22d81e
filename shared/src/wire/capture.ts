// Data capture (issue 11 section 4, issue 15 section 2; docs/decisions/0035-data-capture.md): an
// operator asks a cohort to capture a sample of a model's inputs and outputs. The request reaches
// each device in its desired document (`capture`); the box seals its rows to the operators' capture
// public key and uploads the ciphertext chunks over MQTT (`capture` up, `capture/ack` down); the hub
// stores and offers ciphertext only, and `edgefleet capture fetch` opens it with the private key.
import { z } from 'zod';
import { Base64, Count, DeviceId, IsoTime, KeyId, ModelName, SemVer, schemaTag } from './common.js';
import { DeployTarget } from './deploy.js';
import { FileEncryptionSchema, SealedKeySchema } from './sealed.js';
import { SeqRange } from './telemetry.js';
import { QueryId } from './ids.js';
import { MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES } from '../agent-settings.js';
import { HistoryQuery } from './history-page.js';
import { CAPTURE_ACK_SCHEMA, CAPTURE_CHUNK_SCHEMA, CAPTURE_REASON_CHARS, SEALED_ROWS_FIELD_BYTES, base64Length } from '../crypto/capture.js';

/** Bounds of a capture request (the box holds rows within its own byte budget as well). */
export const CAPTURE_LIMITS = { maxRows: 100_000, maxDurationSec: 7 * 24 * 3600, maxFeatures: 256, maxActive: 16 } as const;

export const CaptureId = z.number().int().positive().max(2 ** 31);

/** POST /captures. `maxRows` is per device. `features`: the named features (or input tensors) to keep; all when absent. */
export const CaptureCreate = z.object({
  model: ModelName,
  version: SemVer.optional(),
  target: DeployTarget,
  rate: z.number({ error: 'expected rate: the share of requests to capture, a number in (0, 1]' }).gt(0, 'expected rate > 0').max(1, 'expected rate <= 1'),
  maxRows: z.number().int('expected maxRows: an integer').positive('expected maxRows >= 1').max(CAPTURE_LIMITS.maxRows, `expected maxRows <= ${CAPTURE_LIMITS.maxRows}`),
  durationSec: z.number().int('expected durationSec: an integer').positive('expected durationSec >= 1').max(CAPTURE_LIMITS.maxDurationSec, `expected durationSec <= ${CAPTURE_LIMITS.maxDurationSec} (a week)`),
  features: z.array(z.string().min(1).max(128)).min(1, 'expected at least one feature name (or leave features out for all)').max(CAPTURE_LIMITS.maxFeatures).optional(),
  reason: z.string().trim().min(1, 'expected a reason').max(1000),
}).strict();
export type CaptureCreate = z.infer<typeof CaptureCreate>;

/** What one device's part of a capture is: asked (not heard from yet), capturing, or why it ended. */
export const CaptureDeviceStatus = z.enum(['pending', 'capturing', 'done', 'budget_full', 'stopped', 'expired', 'refused']);
export type CaptureDeviceStatus = z.infer<typeof CaptureDeviceStatus>;

/** How a capture ended on a device (the last chunk it uploads says so). */
export const CaptureEnd = z.enum(['done', 'budget_full', 'stopped', 'expired']);
export type CaptureEnd = z.infer<typeof CaptureEnd>;

export const CaptureDevice = z.object({
  deviceId: DeviceId,
  status: CaptureDeviceStatus,
  rows: Count,
  chunks: Count,
  bytes: Count,
  reason: z.string().nullable(),
  updated: IsoTime,
});
export type CaptureDevice = z.infer<typeof CaptureDevice>;

/**
 * Whether a capture can still collect rows: `active` while some device's part is open (pending or
 * capturing, below maxRows) before `until`; `ended` once `until` passed or every part ended (done,
 * budget_full, expired, refused, at maxRows); `stopped` or `purged` by an operator or keepDays.
 */
export const CaptureState = z.enum(['active', 'ended', 'stopped', 'purged']);
export type CaptureState = z.infer<typeof CaptureState>;

export const Capture = z.object({
  id: CaptureId,
  state: CaptureState,
  model: ModelName,
  version: SemVer.nullable(),
  target: DeployTarget,
  rate: z.number(),
  maxRows: Count,
  durationSec: Count,
  features: z.array(z.string()).nullable(),
  reason: z.string(),
  keyId: KeyId,
  createdBy: z.string(),
  created: IsoTime,
  until: IsoTime,
  stopped: z.object({ at: IsoTime, by: z.string(), reason: z.string() }).nullable(),
  /** Its sealed chunks deleted (POST /captures/{id}/purge, or capture.keepDays after it ended): the record and counts stay. */
  purged: z.object({ at: IsoTime, by: z.string(), reason: z.string(), bytes: Count }).nullable(),
  rows: Count,
  bytes: Count,
  devices: z.array(CaptureDevice),
});
export type Capture = z.infer<typeof Capture>;
/** GET /captures: a page, newest first; `next` is the id to pass as `?before=` for the older page, null after the last. */
export const CaptureList = z.object({ captures: z.array(Capture.omit({ devices: true })), next: CaptureId.nullable() });
export type CaptureList = z.infer<typeof CaptureList>;
/** GET /captures?limit=&before= */
export const CaptureListQuery = HistoryQuery('capture');
/** POST /captures/{id}/purge */
export const CapturePurge = z.object({ reason: z.string().trim().min(1, 'expected a reason').max(1000) }).strict();
/** DELETE /captures/{id}?reason= */
export const CaptureStopQuery = z.object({ reason: z.string().trim().min(1, 'expected ?reason=WHY').max(1000) });
/** GET /captures/{id}/chunks?after= */
export const CaptureChunksQuery = z.object({
  /** The previous page's `next` (a chunk id): plain positive decimal digits, as a path id (wire/ids.ts). */
  after: QueryId('after', 'capture chunk').optional(),
});

/** A capture in a device's desired document: what to sample and whom to seal it to. */
export const DesiredCapture = z.object({
  id: CaptureId,
  model: ModelName,
  version: SemVer.optional(),
  rate: z.number().gt(0).max(1),
  maxRows: z.number().int().positive(),
  until: IsoTime,
  features: z.array(z.string()).optional(),
  /** The operators' X25519 capture public key (base64) and its id. */
  publicKey: Base64,
  keyId: KeyId,
  /**
   * Bytes of rows per chunk at most, when the hub's maxPayloadBytes takes less than an agent's largest
   * chunk: the box seals chunks no larger than this and its own capture.chunkBytes (docs/agent.md "Data capture").
   */
  chunkBytes: z.number().int().min(MIN_CAPTURE_CHUNK_BYTES).max(MAX_CAPTURE_CHUNK_BYTES).optional(),
});
export type DesiredCapture = z.infer<typeof DesiredCapture>;

/** Base64 of at most `bytes` bytes (padded or not). */
const Base64Of = (bytes: number) => Base64.max(base64Length(bytes), `expected base64 of ${bytes} bytes`);
const F = SEALED_ROWS_FIELD_BYTES;

/**
 * Rows sealed to the capture key: a fresh content key sealed with X25519, the rows AES-256-GCM under it
 * (shared/src/crypto/capture.ts). The key and nonces are capped at the sizes sealRows makes (nothing
 * larger opens); `data` is bounded by the hub's capture.maxChunkBytes, which counts the whole object
 * (docs/hub.md "Data capture").
 */
export const SealedRowsSchema = z.object({
  key: SealedKeySchema.extend({ epk: Base64Of(F.epk), nonce: Base64Of(F.nonce), box: Base64Of(F.box) }),
  enc: FileEncryptionSchema.extend({ nonce: Base64Of(F.encNonce) }),
  data: Base64,
});
export type SealedRowsWire = z.infer<typeof SealedRowsSchema>;

/** Device → hub on `capture`: one sealed chunk; `seq` counts from 1 per capture and device; `end` on the last one. */
export const CaptureChunk = z.object({
  schema: schemaTag(CAPTURE_CHUNK_SCHEMA),
  deviceId: DeviceId,
  captureId: CaptureId,
  seq: z.number().int().positive(),
  rows: Count,
  end: CaptureEnd.optional(),
  /** With `end`: why, in words (the budget that filled, rows not kept, requests of the model seen); shown as the part's reason. */
  reason: z.string().max(CAPTURE_REASON_CHARS, `expected a reason of at most ${CAPTURE_REASON_CHARS} characters`).optional(),
  sealed: SealedRowsSchema,
});
export type CaptureChunk = z.infer<typeof CaptureChunk>;

/** Hub → device on `capture/ack`: the chunk seqs stored; or the capture refused (the box drops what it holds of it). */
export const CaptureAck = z.object({
  schema: schemaTag(CAPTURE_ACK_SCHEMA),
  captureId: CaptureId,
  ranges: z.array(SeqRange),
  /**
   * Seqs of `ranges` under which the hub holds another chunk of this device (a resend of the same sealed
   * chunk is acked without it): this one was not stored. Sent with `maxSeq`, the highest seq the hub holds
   * of the capture from the device; the box moves the chunk above it (an agent.db put back from a backup,
   * docs/agent.md "Data capture"). Older agents ignore both and drop the chunk, as before. With them,
   * `storedRows`: the rows the hub holds of the capture from the device; the box counts its rows from
   * there (its restored count is behind: docs/decisions/0073-taken-ack-tells-the-hubs-rows.md).
   */
  taken: z.array(SeqRange).optional(),
  maxSeq: z.number().int().nonnegative().optional(),
  storedRows: Count.optional(),
  refused: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type CaptureAck = z.infer<typeof CaptureAck>;

/** GET /captures/{id}/chunks: ciphertext chunks in storage order, a page at a time (`next` to continue). */
export const CaptureChunkPage = z.object({
  chunks: z.array(z.object({ id: z.number().int().positive(), deviceId: DeviceId, seq: z.number().int().positive(), rows: Count, sealed: SealedRowsSchema })),
  next: z.number().int().positive().nullable(),
});
export type CaptureChunkPage = z.infer<typeof CaptureChunkPage>;

/** One decrypted row (the plaintext inside SealedRows is JSON lines of these). */
export interface CapturedRow {
  device: string;
  time: string;
  model: string;
  version: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}
