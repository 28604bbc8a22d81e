// One broker of broker.bench.ts in a process of its own (broker-child.ts): the hub as it ships, a
// bare aedes or the bare MQTT ingest server of bare-ingest.ts (test/bench/ingest.bench.ts), started, asked for its figures over IPC, stopped or killed.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMsg, ParentMsg } from './broker-child.js';

export type Kind = 'hub' | 'bare' | 'ingest';
export type Stats = Extract<ChildMsg, { t: 'stats' }>;
type Ready = Extract<ChildMsg, { t: 'ready' }>;
const CHILD = fileURLToPath(new URL('./broker-child.ts', import.meta.url));

export class Broker {
  private constructor(readonly proc: ChildProcess, readonly ready: Ready) {}

  static async start(kind: Kind, cfg?: object): Promise<Broker> {
    // BROKER_BENCH_CPU_PROF=DIR: every broker process writes a V8 CPU profile there when it stops (not when killed).
    const prof = process.env.BROKER_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BROKER_BENCH_CPU_PROF] : [];
    // BROKER_BENCH_HUB_ARGS="--max-semi-space-size=4 ...": V8 flags for the hub's process only (tuning experiments).
    const hubArgs = kind === 'hub' ? (process.env.BROKER_BENCH_HUB_ARGS ?? '').split(/\s+/).filter(Boolean) : [];
    const proc = fork(CHILD, [kind, JSON.stringify(cfg ?? {})], { execArgv: ['--conditions=source', '--import', 'tsx', '--expose-gc', ...hubArgs, ...prof] });
    const ready = await new Promise<Ready>((resolve, reject) => {
      proc.once('message', (m: ChildMsg) => (m.t === 'ready' ? resolve(m) : reject(new Error(`${kind}: unexpected ${m.t}`))));
      proc.once('exit', (code) => reject(new Error(`${kind} broker exited with ${code} before it was ready`)));
    });
    return new Broker(proc, ready);
  }

  private ask<T extends ChildMsg>(m: ParentMsg, t: T['t']): Promise<T> {
    return new Promise((resolve) => {
      const on = (r: ChildMsg) => {
        if (r.t !== t) return;
        this.proc.off('message', on);
        resolve(r as T);
      };
      this.proc.on('message', on);
      this.proc.send(m);
    });
  }

  stats(): Promise<Stats> {
    return this.ask<Stats>({ t: 'stats' }, 'stats');
  }

  telemetry(): Promise<number> {
    return this.ask<Extract<ChildMsg, { t: 'count' }>>({ t: 'count' }, 'count').then((m) => m.telemetry);
  }

  resetLoop(): void {
    this.proc.send({ t: 'loop' } satisfies ParentMsg);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.send({ t: 'stop' } satisfies ParentMsg);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    this.proc.kill('SIGKILL');
  }

  async kill(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }
}
