// Test helper (kept out of the hub tarball with the other testing.ts files): a webhook receiver on
// 127.0.0.1 port 0 that checks X-Edgefleet-Signature as a user's receiver (a training pipeline) would.
import { createHmac } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received { body: string; valid: boolean }

export async function signedReceiver(secret: string, status = 200, answer?: (res: ServerResponse) => void) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-edgefleet-signature'] ?? ''));
      got.push({ body, valid: !!m && createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex') === m[2] });
      if (answer) answer(res);
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/train`;
  return { got, url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
