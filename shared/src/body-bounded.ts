// The first bytes of an HTTP answer that is read only in part (an error's text, a webhook receiver's
// reply nobody uses): read up to `max`, then the rest is cancelled, so a peer sending an endless or huge
// body holds neither memory nor the connection (docs/security.md).

/** At most `max` bytes of `body` (fewer when it ends first); the rest is cancelled, not read. */
export async function readAtMost(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const part = value.byteLength > max - n ? value.subarray(0, max - n) : value;
      chunks.push(part);
      n += part.byteLength;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
