// Simulated devices in child processes (sim-child.ts), shared by the benches that need more devices than
// one process has file descriptors for: hub/bench/broker.bench.ts (reconnect storm) and
// test/bench/rollout-fanout.bench.ts (10,000 devices told their desired document at the rate cap).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimDevice, SimModel, WindowShape } from '../../test/src/sim/index.js';
import type { FollowOptions } from '../../test/src/sim/follow.js';
import { QUANTILES, type SimChildMsg, type SimParentMsg } from './sim-child.js';

const SIM_CHILD = fileURLToPath(new URL('./sim-child.ts', import.meta.url));

/** Simulated devices spread over a few processes (sim-child.ts), each with its share. */
export class Sims {
  private constructor(private readonly procs: ChildProcess[]) {}

  static async start(n: number): Promise<Sims> {
    const procs = await Promise.all(Array.from({ length: n }, async () => {
      const p = fork(SIM_CHILD, [], { execArgv: ['--conditions=source', '--import', 'tsx'] });
      await new Promise<void>((resolve, reject) => {
        p.once('message', () => resolve());
        p.once('exit', (code) => reject(new Error(`simulator process exited with ${code} before it was ready`)));
      });
      return p;
    }));
    return new Sims(procs);
  }

  private ask<T extends SimChildMsg>(p: ChildProcess, m: SimParentMsg, t: T['t']): Promise<T> {
    return new Promise((resolve) => {
      const on = (r: SimChildMsg) => {
        if (r.t !== t) return;
        p.off('message', on);
        resolve(r as T);
      };
      p.on('message', on);
      p.send(m);
    });
  }

  /**
   * Every device connects (`concurrency` at once per process); merged report, CONNACK quantiles are the
   * slowest process's. `o.model`: the version telemetry windows are about; `o.resendMs`: outbox resend.
   */
  async connect(url: string, devices: SimDevice[], concurrency: number, o: { model?: SimModel; resendMs?: number } = {}) {
    const shares = this.procs.map((_, i) => devices.filter((_d, j) => j % this.procs.length === i));
    const rs = await Promise.all(this.procs.map((p, i) => this.ask<Extract<SimChildMsg, { t: 'connected' }>>(p, { t: 'connect', url, devices: shares[i] ?? [], concurrency, ...o }, 'connected')));
    return {
      connected: rs.reduce((a, r) => a + r.connected, 0),
      failed: rs.flatMap((r) => r.failed),
      // -1: some process's share never got there (its devices failed and went to the next wave).
      quantileMs: QUANTILES.map((_, i) => (rs.some((r) => (r.quantileMs[i] ?? -1) < 0) ? -1 : Math.max(...rs.map((r) => r.quantileMs[i]!)))),
    };
  }

  /** Desired documents received so far, summed over every device of every process. */
  async desired(): Promise<number> {
    const rs = await Promise.all(this.procs.map((p) => this.ask<Extract<SimChildMsg, { t: 'desired' }>>(p, { t: 'desired' }, 'desired')));
    return rs.reduce((a, r) => a + r.count, 0);
  }

  /** Every device publishes one batch of `windows` windows (at most `inFlight` unPUBACKed per process); windows sent. */
  async telemetry(windows: number, shape: WindowShape, inFlight: number): Promise<number> {
    const rs = await Promise.all(this.procs.map((p) => this.ask<Extract<SimChildMsg, { t: 'sent' }>>(p, { t: 'telemetry', windows, shape, inFlight }, 'sent')));
    if (rs.some((r) => r.windows < 0)) throw new Error('a simulator process failed to publish telemetry');
    return rs.reduce((a, r) => a + r.windows, 0);
  }

  /** Outbox seqs the hub has not acked yet, acks received and resends, over every process. */
  async pending(): Promise<{ pending: number; acks: number; resends: number }> {
    const rs = await Promise.all(this.procs.map((p) => this.ask<Extract<SimChildMsg, { t: 'pending' }>>(p, { t: 'pending' }, 'pending')));
    return { pending: rs.reduce((a, r) => a + r.pending, 0), acks: rs.reduce((a, r) => a + r.acks, 0), resends: rs.reduce((a, r) => a + r.resends, 0) };
  }

  /** Devices act on their desired documents from now on (download, verify, activate, report). */
  async follow(opts: FollowOptions): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { t: 'follow', opts }, 'following')));
  }

  /** Devices running `model` as they reported it, and the first few follow failures. */
  async active(model: SimModel): Promise<{ count: number; failures: string[] }> {
    const rs = await Promise.all(this.procs.map((p) => this.ask<Extract<SimChildMsg, { t: 'active' }>>(p, { t: 'active', model }, 'active')));
    return { count: rs.reduce((a, r) => a + r.count, 0), failures: rs.flatMap((r) => r.failures) };
  }

  async drop(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { t: 'drop' }, 'dropped')));
  }

  /** CPU of all simulator processes so far, ms. */
  async cpuMs(): Promise<number> {
    const rs = await Promise.all(this.procs.map((p) => this.ask<Extract<SimChildMsg, { t: 'cpu' }>>(p, { t: 'cpu' }, 'cpu')));
    return rs.reduce((a, r) => a + r.cpuMs, 0);
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}
