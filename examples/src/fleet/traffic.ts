// Steady prediction traffic for a local fleet: every agent gets `ratePerSec`
// Open Inference Protocol v2 infer requests a second (at most one in flight per
// agent, so a slow agent is not buried), with rows of vibration measurements.
// Counts what each agent served, so a view can show predictions per device.
import { generateVibration, N_FEATURES, datasetRows } from '../vibration/data.js';
import { INPUT_NAME } from '../vibration/export.js';

/** Rows for request `tick` to agent `agent` (each row N_FEATURES numbers). */
export type RowsFn = (agent: number, tick: number) => number[][];

export interface TrafficTarget {
  /** The agent's local API base URL; read at every request, so a restarted agent can get a new one. */
  readonly url: string;
}

export interface AgentTraffic {
  /** Requests answered 200. */
  ok: number;
  /** Rows scored (predictions served). */
  predictions: number;
  /** Requests refused or failed (e.g. 404 before a model is active). */
  failed: number;
  lastError: string | null;
  /** Model version named in the last successful answer. */
  lastVersion: string | null;
}

export interface TrafficLoop {
  /** Per agent, in the order given. */
  readonly stats: readonly AgentTraffic[];
  /** Stops sending and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

export interface TrafficOptions {
  /** Model name in the URL (default vibration-anomaly). */
  model?: string;
  /** Input tensor name (default the example's "features"). */
  input?: string;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
}

/** A RowsFn cycling through a seeded vibration dataset, `rowsPerRequest` rows at a time, different per agent. */
export function vibrationRows(o: { seed?: number; rowsPerRequest?: number; shift?: boolean; poolRows?: number } = {}): RowsFn {
  const per = o.rowsPerRequest ?? 4;
  const pool = datasetRows(generateVibration({ rows: o.poolRows ?? 2048, seed: o.seed ?? 7, ...(o.shift ? { shift: true } : {}) }));
  return (agent, tick) => {
    const start = ((agent * 7919 + tick) * per) % pool.length;
    return Array.from({ length: per }, (_, i) => pool[(start + i) % pool.length] as number[]);
  };
}

export function trafficLoop(agents: readonly TrafficTarget[], rowsFn: RowsFn, ratePerSec: number, o: TrafficOptions = {}): TrafficLoop {
  if (!(ratePerSec > 0)) throw new Error(`trafficLoop: expected a positive rate per second, got ${ratePerSec}`);
  const model = o.model ?? 'vibration-anomaly';
  const input = o.input ?? INPUT_NAME;
  const stats: AgentTraffic[] = agents.map(() => ({ ok: 0, predictions: 0, failed: 0, lastError: null, lastVersion: null }));
  const inFlight: Array<Promise<void> | null> = agents.map(() => null);
  const ticks = agents.map(() => 0);
  let stopped = false;

  const send = async (i: number): Promise<void> => {
    const agent = agents[i] as TrafficTarget;
    const s = stats[i] as AgentTraffic;
    const tick = ticks[i] ?? 0;
    ticks[i] = tick + 1;
    const rows = rowsFn(i, tick);
    try {
      const res = await fetch(`${agent.url}/v2/models/${encodeURIComponent(model)}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: input, datatype: 'FP32', shape: [rows.length, N_FEATURES], data: rows.flat() }] }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      });
      const body = (await res.json().catch(() => null)) as { model_version?: string; error?: string } | null;
      if (res.ok) {
        s.ok++;
        s.predictions += rows.length;
        s.lastVersion = body?.model_version ?? s.lastVersion;
      } else {
        s.failed++;
        s.lastError = `HTTP ${res.status}: ${body?.error ?? ''}`;
      }
    } catch (err) {
      s.failed++;
      s.lastError = (err as Error).message;
    }
  };

  const timer = setInterval(() => {
    if (stopped) return;
    for (let i = 0; i < agents.length; i++) {
      if (inFlight[i]) continue;
      inFlight[i] = send(i).finally(() => { inFlight[i] = null; });
    }
  }, Math.max(1, Math.round(1000 / ratePerSec)));

  let stopping: Promise<void> | undefined;
  return {
    stats,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await Promise.allSettled(inFlight.filter((p): p is Promise<void> => p !== null));
      })();
      return stopping;
    },
  };
}
