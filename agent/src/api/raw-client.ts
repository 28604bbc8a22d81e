// A raw TCP client for tests of the API's limits: it writes exactly the bytes
// a test gives (partial headers, a body slower or larger than declared) and
// records what came back and whether the server closed the connection.
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /** Bytes written so far. */
  sent(): number;
  /** True once the server (or the test) closed the connection. */
  closed(): boolean;
  write(data: string | Buffer): Promise<void>;
  /** Writes `piece` every `intervalMs` until the connection closes or `stop()`; returns stop. */
  drip(piece: string | Buffer, intervalMs: number): () => void;
  /** Writes pieces one after another until a reply arrives, the connection closes, or they run out. */
  offer(pieces: Buffer[]): Promise<void>;
  destroy(): void;
}

export function openRaw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let received = '';
    let sent = 0;
    let closed = false;
    socket.on('data', (d) => { received += d.toString('latin1'); });
    socket.on('close', () => { closed = true; });
    socket.on('error', () => { closed = true; }); // a reset by the server is what some tests expect
    const write = (data: string | Buffer) => new Promise<void>((res) => {
      if (closed || socket.destroyed) return res();
      sent += Buffer.byteLength(data);
      socket.write(data, () => res());
    });
    const conn: RawConnection = {
      socket,
      received: () => received,
      sent: () => sent,
      closed: () => closed,
      write,
      drip(piece, intervalMs) {
        const t = setInterval(() => {
          if (closed) clearInterval(t);
          else write(piece).catch(() => clearInterval(t));
        }, intervalMs);
        socket.once('close', () => clearInterval(t));
        return () => clearInterval(t);
      },
      async offer(pieces) {
        for (const p of pieces) {
          if (closed || received !== '') return;
          await write(p);
          await new Promise((r) => setImmediate(r));
        }
      },
      destroy: () => socket.destroy(),
    };
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

/** The status code and JSON body of a raw HTTP/1.1 reply, or undefined until all of it has arrived. */
export function parseReply(text: string): { status: number; headers: string; json: unknown } | undefined {
  const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
  if (!m) return undefined;
  let body = m[3]!;
  if (/(?:^|\r\n)transfer-encoding: *chunked/i.test(m[2]!)) {
    if (!body.includes('\r\n0\r\n\r\n') && !body.startsWith('0\r\n\r\n')) return undefined;
    let out = '';
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const n = parseInt(body.slice(at, eol), 16);
      if (!(n > 0)) break;
      out += body.slice(eol + 2, eol + 2 + n);
      at = eol + 2 + n + 2;
    }
    body = out;
  } else {
    const length = /(?:^|\r\n)content-length: *(\d+)/i.exec(m[2]!);
    if (length && Buffer.byteLength(body, 'latin1') < Number(length[1])) return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(m[1]), headers: m[2]!.toLowerCase(), json };
}
