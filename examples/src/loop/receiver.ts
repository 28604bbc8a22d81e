// The "training pipeline" of the loop example (examples/src/loop/run.ts; docs/drift.md "The loop, end
// to end"): a small HTTP server on 127.0.0.1 that takes the hub's signed webhooks. It checks
// X-Edgefleet-Signature (HMAC-SHA256 over "t.body" with the rule's secret, t within 5 minutes, as
// docs/drift.md "Webhooks" says a receiver must), answers 202 at once (the hub's delivery has a 5 s
// timeout) and hands each `retrain.requested` event to `onRetrain`, which runs after the answer.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '@edgefleet/shared';

/** Bodies larger than this are refused (413): the hub's events are a few KiB plus a drift report. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** True when `header` is a valid signature of `body` with `secret`, made within `toleranceSec` of `nowSec`. */
export function verifySignature(secret: string, body: string, header: string | undefined, nowSec: number, toleranceSec = 300): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2] as string, 'hex'));
}

export interface Receiver {
  /** http://127.0.0.1:PORT/retrain */
  url: string;
  /** Requests refused for a missing or wrong signature. */
  readonly refused: number;
  stop(): Promise<void>;
}

export async function startReceiver(secret: string, onRetrain: (e: WebhookEvent) => void, log: (line: string) => void): Promise<Receiver> {
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const body = Buffer.concat(parts).toString('utf8');
      const sig = req.headers['x-edgefleet-signature'];
      if (req.method !== 'POST' || !verifySignature(secret, body, typeof sig === 'string' ? sig : undefined, Math.floor(Date.now() / 1000))) {
        refused++;
        log(`receiver: refused a ${req.method} without a valid X-Edgefleet-Signature`);
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
        return;
      }
      let event: WebhookEvent;
      try {
        event = JSON.parse(body) as WebhookEvent;
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
      log(`receiver: signature ok; ${event.type} for alert ${event.alert?.id} (${event.alert?.rule}, ${event.alert?.key}, value ${event.alert?.value?.toFixed(3)})`);
      if (event.type === 'retrain.requested') onRetrain(event);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/retrain`,
    get refused() { return refused; },
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
