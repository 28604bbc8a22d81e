// A TCP proxy for fault tests: forwards 127.0.0.1:port to a target, and on demand delays data (a chunk
// at a time, or all in flight at once: latency), trickles it at a byte rate, cuts connections after a
// (seeded) random number of bytes, cuts everything now,
// refuses new connections, or turns into a black hole: nothing is forwarded either way and no socket is
// closed (no FIN, no RST), as when a NAT forgets a connection or a cable is pulled mid-path.
import net from 'node:net';

export interface FlakyOptions {
  targetHost?: string;
  targetPort: number;
  /** Delay each chunk by this many milliseconds (both directions), reading paused meanwhile: a link that carries a chunk at a time. */
  delayMs?: number;
  /** Delay each chunk by this many milliseconds (both directions), reading on meanwhile: a long path, chunks in order, as many in flight as come. */
  latencyMs?: number;
  /** Cut a connection after a random number of bytes in [min, max] have passed (seeded), if set. */
  cutAfterBytes?: { min: number; max: number };
  /** Forward at most this many bytes a second per direction of each connection, if set. */
  bytesPerSec?: number;
  seed?: number;
}

export interface FlakyProxy {
  readonly port: number;
  /** Connections cut so far by the proxy's faults (not by the peers). */
  readonly cuts: number;
  /** Connections accepted so far (each attempt of a peer, whatever became of it). */
  readonly accepted: number;
  /** Bytes forwarded so far to the target (up) and from it (down). */
  readonly forwarded: { up: number; down: number };
  setDown(down: boolean): void;
  /**
   * On: the connections open now are dead for good (what they carry is dropped, they stay open until a
   * peer closes them), and new ones are accepted but carry nothing. Off: new connections work again.
   */
  setBlackhole(on: boolean): void;
  cutAll(): void;
  configure(opts: Partial<Pick<FlakyOptions, 'delayMs' | 'latencyMs' | 'cutAfterBytes' | 'bytesPerSec'>>): void;
  close(): Promise<void>;
}

/** Mulberry32: a small seeded PRNG so a flaky run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFlakyProxy(opts: FlakyOptions): Promise<FlakyProxy> {
  const conf = { delayMs: opts.delayMs ?? 0, latencyMs: opts.latencyMs ?? 0, cutAfterBytes: opts.cutAfterBytes, bytesPerSec: opts.bytesPerSec };
  const random = rng(opts.seed ?? 1);
  const sockets = new Set<net.Socket>();
  /** Sockets of connections the black hole took: they never carry anything again. */
  const dead = new WeakSet<net.Socket>();
  let down = false;
  let blackhole = false;
  let cuts = 0;
  let accepted = 0;
  const forwarded = { up: 0, down: 0 };

  const server = net.createServer((client) => {
    accepted++;
    if (down) {
      client.destroy();
      return;
    }
    sockets.add(client);
    client.on('error', () => undefined);
    if (blackhole) {
      dead.add(client);
      client.on('close', () => sockets.delete(client));
      client.resume(); // read and drop
      return;
    }
    const upstream = net.connect(opts.targetPort, opts.targetHost ?? '127.0.0.1');
    sockets.add(upstream);
    let budget = conf.cutAfterBytes ? conf.cutAfterBytes.min + Math.floor(random() * (conf.cutAfterBytes.max - conf.cutAfterBytes.min + 1)) : Infinity;
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    const pipe = (from: net.Socket, to: net.Socket, dir: 'up' | 'down') => {
      const write = (b: Buffer) => {
        forwarded[dir] += b.length;
        return to.write(b);
      };
      from.on('data', (chunk: Buffer) => {
        if (dead.has(from)) return;
        budget -= chunk.length;
        if (budget < 0) {
          cut();
          return;
        }
        if (conf.bytesPerSec) {
          // A slice of a tenth of a second's bytes every 100 ms (plus delayMs), reading paused meanwhile.
          from.pause();
          const step = Math.max(1, Math.floor(conf.bytesPerSec / 10));
          const next = (rest: Buffer) => {
            if (to.destroyed || dead.has(from)) return;
            write(rest.subarray(0, step));
            if (rest.length > step) setTimeout(() => next(rest.subarray(step)), 100);
            else from.resume();
          };
          setTimeout(() => next(chunk), 100 + conf.delayMs);
        } else if (conf.delayMs > 0) {
          from.pause();
          setTimeout(() => {
            if (!to.destroyed) write(chunk);
            from.resume();
          }, conf.delayMs);
        } else if (conf.latencyMs > 0) {
          // Timers of the same delay fire in the order they were set: the bytes keep their order.
          setTimeout(() => {
            if (!to.destroyed && !dead.has(from)) write(chunk);
          }, conf.latencyMs);
        } else if (!write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      // A dead connection's close is not passed on either: the other peer finds out by its own timeouts.
      from.on('end', () => {
        if (!dead.has(from)) to.end();
      });
      from.on('close', () => {
        sockets.delete(from);
        if (!dead.has(from)) to.destroy();
      });
      from.on('error', () => {
        if (!dead.has(from)) to.destroy();
      });
    };
    pipe(client, upstream, 'up');
    pipe(upstream, client, 'down');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get cuts() {
      return cuts;
    },
    get accepted() {
      return accepted;
    },
    forwarded,
    setDown(d) {
      down = d;
    },
    setBlackhole(on) {
      blackhole = on;
      if (on) for (const s of sockets) dead.add(s);
    },
    cutAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    configure(c) {
      if (c.delayMs !== undefined) conf.delayMs = c.delayMs;
      if (c.latencyMs !== undefined) conf.latencyMs = c.latencyMs; // lowered while chunks wait, later ones could pass them
      if ('cutAfterBytes' in c) conf.cutAfterBytes = c.cutAfterBytes;
      if ('bytesPerSec' in c) conf.bytesPerSec = c.bytesPerSec;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
