// The webhook timeout (alerts.webhookTimeoutMs, docs/drift.md "Webhooks") must hold whatever the
// garbage collector does while an attempt waits: a receiver on 127.0.0.1 that never answers, or answers
// its headers and then never ends, is let go after the timeout, also when a GC ran meanwhile; a 2xx
// status delivered the event even if its body never ends. (A
// timeout signal only a combined AbortSignal.any signal refers to is collected with its timer, and
// fetch then waits for undici's own limits, minutes, holding the delivery and the send loop.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '@edgefleet/examples';
import { postWebhook, type AttemptResult } from './webhooks.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function server(answer: (res: ServerResponse) => void) {
  let got = 0;
  const s = createServer((req, res) => {
    req.resume().on('end', () => {
      got++;
      answer(res);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`,
    got: () => got,
    close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }),
  };
}

/** The attempt's result, or null when it is still waiting `guardMs` after it started (far past its timeout). */
function within(p: Promise<AttemptResult>, guardMs: number): Promise<AttemptResult | null> {
  let t: NodeJS.Timeout | undefined;
  const guard = new Promise<null>((r) => { t = setTimeout(() => r(null), guardMs); });
  return Promise.race([p, guard]).finally(() => clearTimeout(t));
}

for (const [what, answer, expected] of [
  ['never answers', () => { /* no headers, no body */ }, { status: null, error: 'no answer within 1000 ms' }],
  // A 2xx status delivers it (its body is not used): not sent again.
  ['answers 202 and never ends its body', (res: ServerResponse) => { res.writeHead(202); res.write('accepted\n'); }, { status: 202, error: null }],
  ['answers 503 and never ends its body', (res: ServerResponse) => { res.writeHead(503); res.write('busy\n'); }, { status: 503, error: 'HTTP 503' }],
] as const) {
  test(`an attempt to a receiver that ${what} ends at its timeout, also after a GC meanwhile`, { timeout: 60_000 }, async () => {
    const rx = await server(answer);
    try {
      const attempt = postWebhook(rx.url, '{}', 'whsec-0123456789abcdef', { timeoutMs: 1000, signal: new AbortController().signal, nowSec: 1 });
      await waitFor('the receiver got the webhook', () => rx.got() === 1, { timeoutMs: 10_000, intervalMs: 10 });
      gc();
      gc();
      const r = await within(attempt, 20_000);
      assert.ok(r, 'the attempt was still waiting 20 s after it started, with a 1 s timeout');
      assert.deepEqual({ status: r.status, error: r.error }, expected);
      assert.ok(r.ms >= 900, `let go at the timeout, not before: ${r.ms} ms`);
    } finally {
      await rx.close();
    }
  });
}
