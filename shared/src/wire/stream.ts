// The hub's live event stream (GET /api/v1/stream, Server-Sent Events; docs/hub.md "Live stream"):
// one schema per event type, keyed by the SSE `event:` name, so the hub's bus, the OpenAPI document and
// the console's client agree on every payload. Ids are `EPOCH-SEQ` (EPOCH changes on each hub start):
// a client resumes with Last-Event-ID; an id the hub no longer holds gets a `reset` event (refetch).
import { z } from 'zod';
import { AuditEntry } from './api-audit.js';
import { DeploymentDeviceStatus } from './deploy.js';
import { Count, DeviceId, IsoTime, ModelName, SemVer } from './common.js';
import { Alert } from './alerts.js';
import { RolloutState, WaveState } from './rollout-state.js';

export const StreamEventSchemas = {
  /** A device connected or disconnected (the broker's view). */
  'device.presence': z.object({ deviceId: DeviceId, online: z.boolean(), at: IsoTime }),
  /** A device reported its state: agent version and its models' active versions. */
  'device.state': z.object({
    deviceId: DeviceId,
    at: IsoTime,
    agentVersion: z.string(),
    models: z.array(z.object({ name: ModelName, active: SemVer.nullable() })),
  }),
  /** A device's deployment status changed (events it reported, or its state). */
  'deployment.progress': z.object({
    deploymentId: z.number().int().positive(),
    deviceId: DeviceId,
    model: ModelName,
    version: SemVer,
    status: DeploymentDeviceStatus,
    progress: z.number().min(0).max(1).nullable(),
    reason: z.string().nullable(),
    at: IsoTime,
  }),
  /** An audit entry committed (every write through the API, and the hub's own reports). */
  audit: AuditEntry,
  /** An alert fired or resolved in an evaluation pass, or an operator acknowledged it or took that back (hub/src/alerts; docs/drift.md "Alerts"). */
  alert: z.object({ event: z.enum(['fired', 'resolved', 'acknowledged', 'unacknowledged']), alert: Alert }),
  /**
   * A rollout changed (created, devices told, a wave moved, gates recomputed, an operator action;
   * hub/src/rollouts, docs/rollouts.md): where it is now. GET /rollouts/{id} has the rest.
   */
  rollout: z.object({
    id: z.string(),
    /** The model, or `config:SCOPE` for a configuration rollout; its version, or the document's version. */
    model: z.string(),
    version: z.string(),
    state: RolloutState,
    currentWave: Count,
    wave: z.string().nullable(),
    waveState: WaveState.nullable(),
    at: IsoTime,
  }),
} as const;

export type StreamEventType = keyof typeof StreamEventSchemas;
export type StreamEventMap = { [K in StreamEventType]: z.infer<(typeof StreamEventSchemas)[K]> };
export const STREAM_EVENT_TYPES = Object.keys(StreamEventSchemas) as StreamEventType[];

/** Sent instead of the missed events when Last-Event-ID is older than the hub's buffer (or from another hub run). */
export const StreamReset = z.object({ reason: z.enum(['too_old', 'unknown_epoch', 'bad_id']), lastEventId: z.string().nullable() });
export type StreamReset = z.infer<typeof StreamReset>;

/** Sent as the first event of every stream: the role the token has, and the id the stream starts after. */
export const StreamHello = z.object({ role: z.enum(['viewer', 'operator', 'admin']), epoch: z.string(), heartbeatMs: z.number().int().positive() });
export type StreamHello = z.infer<typeof StreamHello>;

/** One event as a client sees it after parsing: the SSE id, the type (event name) and the payload. */
export type StreamEvent = { [K in StreamEventType]: { id: string; type: K; data: StreamEventMap[K] } }[StreamEventType];

