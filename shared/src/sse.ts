// Server-Sent Events framing, both ends: the incremental parser the console and the CLI read the hub's
// stream with (GET /api/v1/stream), and the id format. Zod-free and Node-free so the browser bundle can
// use it. Format: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

export interface SseMessage {
  /** The `event:` field ("message" when absent). */
  event: string;
  data: string;
  /** The last `id:` seen on the stream so far (it carries over to later events, as in EventSource). */
  id: string | null;
}

/** Parses an SSE event id `EPOCH-SEQ`; null when it has another shape. */
export function parseStreamId(raw: string): { epoch: string; seq: number } | null {
  const m = /^([0-9a-z]{1,32})-(\d{1,15})$/.exec(raw);
  if (!m) return null;
  return { epoch: m[1] as string, seq: Number(m[2]) };
}

/**
 * Feed it text as it arrives; it returns the complete events. Comment lines (heartbeats) yield
 * nothing but count as activity in `lastActivity`. A line longer than `maxLineChars` is an error:
 * a hub never sends one, so the stream is not what it claims.
 */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  lastId: string | null = null;
  retryMs: number | null = null;

  constructor(private readonly maxLineChars = 4 * 1024 * 1024) {}

  push(text: string): SseMessage[] {
    this.buf += text;
    const out: SseMessage[] = [];
    for (;;) {
      const nl = this.buf.search(/\r\n|\r|\n/);
      if (nl === -1) break;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    if (this.buf.length > this.maxLineChars) throw new Error(`event stream line longer than ${this.maxLineChars} characters`);
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      if (this.data.length === 0) { this.event = ''; return null; }
      const m: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), id: this.lastId };
      this.event = '';
      this.data = [];
      return m;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event': this.event = value; break;
      case 'data': this.data.push(value); break;
      case 'id': if (!value.includes('\0')) this.lastId = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retryMs = Number(value); break;
      default: break;
    }
    return null;
  }
}
