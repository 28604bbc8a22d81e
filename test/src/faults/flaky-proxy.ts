// A TCP proxy for fault tests: forwards 127.0.0.1:port to a target, and on demand delays data, cuts
// connections after a (seeded) random number of bytes, cuts everything now, or refuses new connections.
import net from 'node:net';

export interface FlakyOptions {
  targetHost?: string;
  targetPort: number;
  /** Delay each chunk by this many milliseconds (both directions). */
  delayMs?: number;
  /** Cut a connection after a random number of bytes in [min, max] have passed (seeded), if set. */
  cutAfterBytes?: { min: number; max: number };
  seed?: number;
}

export interface FlakyProxy {
  readonly port: number;
  /** Connections cut so far by the proxy's faults (not by the peers). */
  readonly cuts: number;
  setDown(down: boolean): void;
  cutAll(): void;
  configure(opts: Partial<Pick<FlakyOptions, 'delayMs' | 'cutAfterBytes'>>): void;
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
  const conf = { delayMs: opts.delayMs ?? 0, cutAfterBytes: opts.cutAfterBytes };
  const random = rng(opts.seed ?? 1);
  const sockets = new Set<net.Socket>();
  let down = false;
  let cuts = 0;

  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(opts.targetPort, opts.targetHost ?? '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let budget = conf.cutAfterBytes ? conf.cutAfterBytes.min + Math.floor(random() * (conf.cutAfterBytes.max - conf.cutAfterBytes.min + 1)) : Infinity;
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    const pipe = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        budget -= chunk.length;
        if (budget < 0) {
          cut();
          return;
        }
        if (conf.delayMs > 0) {
          from.pause();
          setTimeout(() => {
            if (!to.destroyed) to.write(chunk);
            from.resume();
          }, conf.delayMs);
        } else if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    };
    pipe(client, upstream);
    pipe(upstream, client);
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
    setDown(d) {
      down = d;
    },
    cutAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    configure(c) {
      if (c.delayMs !== undefined) conf.delayMs = c.delayMs;
      if ('cutAfterBytes' in c) conf.cutAfterBytes = c.cutAfterBytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
