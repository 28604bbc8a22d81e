import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startFlakyProxy } from './flaky-proxy.js';

async function echoServer(): Promise<net.Server> {
  const s = net.createServer((c) => c.pipe(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

function roundTrip(port: number, payload: Buffer): Promise<{ got: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let n = 0;
    c.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= payload.length) {
        c.end();
      }
    });
    c.on('error', () => undefined);
    c.on('close', () => resolve({ got: Buffer.concat(parts), closed: n < payload.length }));
    c.write(payload);
  });
}

test('the proxy forwards, delays, cuts after a byte budget, and refuses while down', async () => {
  const echo = await echoServer();
  const proxy = await startFlakyProxy({ targetPort: (echo.address() as net.AddressInfo).port, seed: 7 });
  const payload = Buffer.alloc(64 * 1024, 7);
  const ok = await roundTrip(proxy.port, payload);
  assert.equal(ok.got.length, payload.length);

  proxy.configure({ cutAfterBytes: { min: 1000, max: 2000 } });
  const cut = await roundTrip(proxy.port, payload);
  assert.ok(cut.closed && cut.got.length < payload.length, `cut after ${cut.got.length} bytes`);
  assert.equal(proxy.cuts, 1);

  proxy.configure({ cutAfterBytes: undefined, delayMs: 5 });
  proxy.setDown(true);
  const refused = await roundTrip(proxy.port, Buffer.from('x'));
  assert.equal(refused.got.length, 0);
  proxy.setDown(false);
  assert.equal((await roundTrip(proxy.port, Buffer.from('hello'))).got.toString(), 'hello');
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

test('the black hole carries nothing and closes nothing; the byte rate paces what it carries', async () => {
  const echo = await echoServer();
  const proxy = await startFlakyProxy({ targetPort: (echo.address() as net.AddressInfo).port });
  const open = net.connect(proxy.port, '127.0.0.1');
  const got: Buffer[] = [];
  let closed = false;
  open.on('data', (d: Buffer) => got.push(d));
  open.on('close', () => { closed = true; });
  open.write('before');
  while (Buffer.concat(got).toString() !== 'before') await new Promise((r) => setTimeout(r, 10));
  proxy.setBlackhole(true);
  open.write('during');
  const late = net.connect(proxy.port, '127.0.0.1');
  const lateGot: Buffer[] = [];
  late.on('data', (d: Buffer) => lateGot.push(d));
  late.write('new');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(Buffer.concat(got).toString(), 'before', 'nothing came back through the black hole');
  assert.equal(lateGot.length, 0, 'a connection made meanwhile carries nothing either');
  assert.equal(closed, false, 'no FIN or RST reached the client');
  proxy.setBlackhole(false);
  assert.equal((await roundTrip(proxy.port, Buffer.from('after'))).got.toString(), 'after', 'new connections work again');
  open.destroy();
  late.destroy();

  proxy.configure({ bytesPerSec: 10_000 });
  const t0 = Date.now();
  const paced = await roundTrip(proxy.port, Buffer.alloc(5000, 1));
  assert.equal(paced.got.length, 5000);
  // Only a lower bound (a busy machine is slower, never faster): 5000 bytes each way at 10,000 a second.
  assert.ok(Date.now() - t0 >= 400, `paced: ${Date.now() - t0} ms`);
  assert.ok(proxy.forwarded.up >= 5000 && proxy.forwarded.down >= 5000);
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});
