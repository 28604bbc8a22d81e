// The wasm backend's worker threads (wasm.ts, wasm-thread.ts). onnxruntime-web's WebAssembly heap grows
// and never shrinks: after a large model was replaced by a small one the heap (and the process's RSS)
// stayed as large as the large one needed, until the agent restarted. A heap goes only with its thread,
// so (docs/agent.md "Runtime", docs/decisions/0125-wasm-runs-in-a-worker-thread.md, addendum):
// - sessions are created in the current worker, except a new version of a model the current worker
//   holds (a switch: the old version is released once its requests finished), which starts a new
//   current worker;
// - a worker whose last session was released, and in which no session is being created, is ended; the
//   next create starts a fresh one.
// So a box that switches its one model keeps one worker, sized for the version it serves; with several
// models an old worker lives until each of its models was switched or removed.
import { WasmThread } from './wasm-thread.js';

export interface WorkerSlot {
  thread: WasmThread;
  /** Live sessions: id → the model they are a version of (undefined: not told). */
  sessions: Map<number, string | undefined>;
  /** Creates under way (taken, not yet put back). */
  creating: number;
}

export class WasmWorkers {
  private current: WorkerSlot | null = null;
  private readonly slots = new Set<WorkerSlot>();
  private closed = false;

  constructor(private readonly ortUrl: string) {}

  /** Starts the first worker: onnxruntime-web's version, or why it does not load. */
  async open(): Promise<string> {
    const slot = this.start();
    try {
      return await slot.thread.ready;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Workers alive (tests: one per generation still holding sessions). */
  get size(): number {
    return this.slots.size;
  }

  /** The worker a session of `model` is created in; `put` it back once the create ended. */
  async take(model: string | undefined): Promise<WorkerSlot> {
    if (this.closed) throw new Error('the wasm backend was closed');
    let slot = this.current;
    const holds = (s: WorkerSlot) => model !== undefined && [...s.sessions.values()].includes(model);
    if (!slot || holds(slot)) slot = this.start();
    slot.creating++;
    try {
      await slot.thread.ready;
    } catch (err) {
      this.put(slot);
      throw err;
    }
    return slot;
  }

  put(slot: WorkerSlot): void {
    slot.creating--;
    this.endIfIdle(slot);
  }

  /** A session's release ended (answered or failed): its worker ends when it held the last one. */
  released(slot: WorkerSlot, session: number): void {
    slot.sessions.delete(session);
    this.endIfIdle(slot);
  }

  /** Ends every worker (and any run in them). */
  async close(): Promise<void> {
    this.closed = true;
    this.current = null;
    const all = [...this.slots];
    this.slots.clear();
    await Promise.all(all.map((s) => s.thread.close()));
  }

  private start(): WorkerSlot {
    const slot: WorkerSlot = { thread: new WasmThread(this.ortUrl), sessions: new Map(), creating: 0 };
    this.slots.add(slot);
    this.current = slot;
    return slot;
  }

  private endIfIdle(slot: WorkerSlot): void {
    if (slot.sessions.size > 0 || slot.creating > 0 || !this.slots.has(slot)) return;
    this.slots.delete(slot);
    if (this.current === slot) this.current = null;
    slot.thread.close().catch(() => undefined);
  }
}
