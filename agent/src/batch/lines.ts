// The lines of a batch input file, streamed with a bound on each: readline holds a whole line however long,
// so one line without a newline could take the agent's memory. A line over `maxBytes` is read past, never held,
// and comes out as its number and length only; the job records it as a bad row and goes on
// (docs/agent-summaries.md "CLI", `edgefleet-agent batch`). Line breaks are those readline takes: \n, \r\n and a lone \r.
import type { Readable } from 'node:stream';

/** The longest input line a batch reads (a row of a 224×224×3 image in JSON is ~1.5 MiB). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export type InputLine = { n: number; text: string } | { n: number; tooLong: number };

const LF = 0x0a;
const CR = 0x0d;

/** Lines of `stream`, numbered from 1; one over `maxBytes` as `{tooLong: its length in bytes}`. */
export async function* boundedLines(stream: Readable, maxBytes = MAX_LINE_BYTES): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let held = 0;
  let length = 0; // the current line's bytes so far, held or not
  let n = 0;
  let afterCr = false; // the last byte was a \r: a \n right after it ends nothing more
  const end = (): InputLine => {
    n++;
    const line: InputLine = length > maxBytes ? { n, tooLong: length } : { n, text: Buffer.concat(parts, held).toString('utf8') };
    parts = [];
    held = 0;
    length = 0;
    return line;
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) continue;
      if (b === LF && afterCr && i === from) {
        afterCr = false;
        from = i + 1;
        continue;
      }
      take(chunk.subarray(from, i));
      yield end();
      afterCr = b === CR;
      from = i + 1;
    }
    if (from < chunk.length) {
      afterCr = false;
      take(chunk.subarray(from));
    }
  }
  if (length > 0) yield end();

  function take(bytes: Buffer): void {
    length += bytes.length;
    if (length > maxBytes) {
      parts = [];
      held = 0;
      return;
    }
    if (bytes.length > 0) {
      parts.push(Buffer.from(bytes)); // a copy: the stream's chunk is not kept alive by a slice of it
      held += bytes.length;
    }
  }
}
