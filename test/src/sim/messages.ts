// Valid device messages for the fleet simulator, built to the shared wire schemas.
import { ACK_SCHEMA, PRESENCE_SCHEMA, STATE_SCHEMA, TELEMETRY_SCHEMA, type Presence, type ReportedState, type TelemetryBatch } from '@edgefleet/shared';

export function simState(deviceId: string, at: Date, lastAppliedSeq = 0): ReportedState {
  return {
    schema: STATE_SCHEMA, deviceId, at: at.toISOString(), agentVersion: '0.1.0', lastAppliedSeq, trustVersion: 1,
    models: [{ name: 'sim-model', active: '1.0.0', previous: null, installed: ['1.0.0'], status: 'active', target: null }],
    capabilities: ['sim'],
  };
}

export function simPresence(online: boolean, at: Date): Presence {
  return { schema: PRESENCE_SCHEMA, online, at: at.toISOString() };
}

/** One summary window with the device's outbox seq. */
export function simTelemetry(deviceId: string, seq: number, at: Date): TelemetryBatch {
  const start = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
  return {
    schema: TELEMETRY_SCHEMA, deviceId,
    windows: [{
      seq, model: 'sim-model', version: '1.0.0', start, lengthSec: 60, count: 10, errors: {},
      latency: { counts: [0, 4, 6, 0], sumMs: 21.5 },
      features: [{ kind: 'numeric', name: 'x', hist: { counts: [2, 5, 3], under: 0, over: 0 }, moments: { n: 10, mean: 0.5, m2: 1.2, min: 0, max: 1 }, nulls: 0, nans: 0 }],
      outputs: [{ name: 'y', index: 0, hist: { counts: [6, 4], under: 0, over: 0 }, moments: { n: 10, mean: 0.4, m2: 0.9, min: 0, max: 1 } }],
      inputs: [],
    }],
  };
}

export { ACK_SCHEMA };
