// Simulated devices in a process of their own (driven through hub/bench/sims.ts), so a broker's figures
// are not mixed with the CPU its 10,000 mqtt.js clients cost (they shared one process with the bench
// driver before, and the driver's CPU was counted as storm time). The bench forks a few of these and
// gives each its share of the devices. Talks over IPC: `connect` (a FleetSimulator for the given
// devices connects them all, `concurrency` at once; the reply lists failures and the process CPU
// spent), `drop` (every simulator stops), `cpu` (process CPU so far), `desired` (desired documents its
// devices received so far), `telemetry` (every device publishes one batch through its outbox, at most
// `inFlight` awaiting their PUBACK at once; replies when all are PUBACKed), `pending` (outbox seqs not
// yet acked by the hub, acks, resends), `follow` (devices act on desired documents from now on:
// test/src/sim/follow.ts), `active` (devices running a model version, as they reported it).
// Run by the bench: node --conditions=source --import tsx hub/bench/sim-child.ts
import { FleetSimulator, type SimDevice, type SimModel, type WindowShape } from '../../test/src/sim/index.js';
import type { FollowOptions } from '../../test/src/sim/follow.js';

export type SimParentMsg =
  | { t: 'connect'; url: string; devices: SimDevice[]; concurrency: number; model?: SimModel; resendMs?: number }
  | { t: 'drop' }
  | { t: 'cpu' }
  | { t: 'desired' }
  | { t: 'telemetry'; windows: number; shape: WindowShape; inFlight: number }
  | { t: 'pending' }
  | { t: 'follow'; opts: FollowOptions }
  | { t: 'active'; model: SimModel };
export type SimChildMsg =
  | { t: 'connected'; connected: number; failed: Array<{ id: string; error: string }>; ms: number; cpuMs: number; quantileMs: number[] }
  | { t: 'dropped'; cpuMs: number }
  | { t: 'cpu'; cpuMs: number }
  | { t: 'desired'; count: number }
  | { t: 'sent'; windows: number; cpuMs: number }
  | { t: 'pending'; pending: number; acks: number; resends: number }
  | { t: 'following' }
  | { t: 'active'; count: number; failures: string[] };

/** Fractions of a share whose CONNACK time is reported. */
export const QUANTILES = [0.5, 0.9, 0.99];
const sims: FleetSimulator[] = [];
/** The devices of each simulator in `sims`, same order. */
const shares: SimDevice[][] = [];
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const send = (m: SimChildMsg) => process.send?.(m);

process.on('message', (m: SimParentMsg) => {
  if (m.t === 'connect') {
    const sim = new FleetSimulator({ url: m.url, devices: m.devices, connectConcurrency: m.concurrency, resendMs: m.resendMs ?? 60_000, ...(m.model ? { model: m.model } : {}) });
    sims.push(sim);
    shares.push(m.devices);
    // When 50%, 90%, 99% of this share had their CONNACK (sampled every 50 ms): where the tail is.
    const t0 = performance.now();
    const marks = QUANTILES.map(() => -1);
    const mark = () => {
      const n = sim.connectedCount();
      QUANTILES.forEach((q, i) => {
        if (marks[i] === -1 && n >= q * m.devices.length) marks[i] = performance.now() - t0;
      });
    };
    const sample = setInterval(mark, 50);
    sim.connectAll().then(
      // One last sample: the tail may complete between two ticks.
      (r) => (mark(), send({ t: 'connected', connected: r.connected, failed: r.failed, ms: r.ms, cpuMs: cpuMs(), quantileMs: marks })),
      (err: unknown) => send({ t: 'connected', connected: 0, failed: m.devices.map((d) => ({ id: d.id, error: String(err) })), ms: 0, cpuMs: cpuMs(), quantileMs: marks }),
    ).finally(() => clearInterval(sample));
  } else if (m.t === 'drop') {
    shares.splice(0);
    const all = sims.splice(0).map((s) => s.stop());
    Promise.all(all).then(() => send({ t: 'dropped', cpuMs: cpuMs() }), () => send({ t: 'dropped', cpuMs: cpuMs() }));
  } else if (m.t === 'cpu') {
    send({ t: 'cpu', cpuMs: cpuMs() });
  } else if (m.t === 'desired') {
    send({ t: 'desired', count: sims.reduce((a, s, i) => a + (shares[i] ?? []).reduce((b, d) => b + s.desiredFor(d.id).length, 0), 0) });
  } else if (m.t === 'telemetry') {
    const per = Math.max(1, Math.ceil(m.inFlight / Math.max(1, sims.length)));
    Promise.all(sims.map((s) => s.publishTelemetry(m.windows, m.shape, per))).then(
      (ns) => send({ t: 'sent', windows: ns.reduce((a, n) => a + n, 0), cpuMs: cpuMs() }),
      () => send({ t: 'sent', windows: -1, cpuMs: cpuMs() }),
    );
  } else if (m.t === 'pending') {
    send({ t: 'pending', pending: sims.reduce((a, s) => a + s.pending(), 0), acks: sims.reduce((a, s) => a + s.acksReceived, 0), resends: sims.reduce((a, s) => a + s.resends, 0) });
  } else if (m.t === 'follow') {
    for (const s of sims) s.follow(m.opts);
    send({ t: 'following' });
  } else if (m.t === 'active') {
    send({ t: 'active', count: sims.reduce((a, s) => a + s.devicesActive(m.model.name, m.model.version), 0), failures: sims.flatMap((s) => s.followStats().failures.map((f) => `${f.id}: ${f.error}`)).slice(0, 5) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'cpu', cpuMs: cpuMs() });
