// A loaded model version and the life of its onnxruntime session (runtime.ts, docs/agent.md): the
// versions alive, active or draining; a version a switch or an unload retired keeps its session until
// the requests pinned to it have finished, then releases it once; the runtime's stop() waits for that.
import type { Manifest } from '@edgefleet/shared';
import type { Backend, BackendSession } from './backend.js';
import type { BatchPolicy } from './batching.js';

export interface LoadedVersion {
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
  readonly loadSeconds: number;
  /** Requests holding this version (queued or running). */
  pins: number;
  retired: boolean;
  /** @internal */ session: BackendSession;
  /** @internal */ backend: Backend;
  /** @internal Undefined when its requests always run alone. */ batch: BatchPolicy | undefined;
}

export class LiveVersions {
  /** Key name@version. */
  private readonly live = new Map<string, LoadedVersion>();
  private readonly drained = new Set<Promise<void>>();
  private readonly released = new WeakSet<LoadedVersion>();

  /** `isActive`: the version new requests of its model get (never released); `onRelease`: told of each release. */
  constructor(private readonly isActive: (v: LoadedVersion) => boolean, private readonly onRelease: (v: LoadedVersion) => void) {}

  add(v: LoadedVersion): void {
    this.live.set(`${v.name}@${v.version}`, v);
  }

  /** The manifest of a live version (active or still draining). */
  manifestFor(name: string, version: string): Manifest | undefined {
    return this.live.get(`${name}@${version}`)?.manifest;
  }

  /** No new request gets `v`: its session goes once its pinned requests have finished. */
  retire(v: LoadedVersion): void {
    v.retired = true;
    if (v.pins === 0) this.release(v);
  }

  /** Releases a retired version's session when nothing pins it and it is not active. Idempotent. */
  release(v: LoadedVersion): void {
    if (this.released.has(v)) return;
    const key = `${v.name}@${v.version}`;
    if (this.live.get(key) === v) this.live.delete(key);
    if (v.pins === 0 && !this.isActive(v)) {
      const p: Promise<void> = v.session.release().catch(() => undefined).finally(() => this.drained.delete(p));
      this.released.add(v);
      this.drained.add(p);
      this.onRelease(v);
    }
  }

  /** Resolves when every session released so far (and any released meanwhile) is gone. */
  async drain(): Promise<void> {
    while (this.drained.size > 0) await Promise.all([...this.drained]);
  }
}
