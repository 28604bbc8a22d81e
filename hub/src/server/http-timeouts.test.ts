// The hub's HTTP server has no deadline for a whole request (a large bundle on a slow link takes longer
// than Node's default 300 s, which answered a bare 408), but drops a connection idle for HTTP_IDLE_MS;
// the staged upload a hub killed mid-push leaves is swept at the next start once it is that old.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { waitFor } from '@edgefleet/examples';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeHarness } from '../testing/harness.js';
import { HTTP_IDLE_MS, listen } from './wiring.js';
import type { HubConfig } from '../config.js';

test('no deadline for a whole request; an idle connection is dropped after HTTP_IDLE_MS', async () => {
  const app = { fetch: () => new Response('ok') } as unknown as Parameters<typeof listen>[0];
  const s = (await listen(app, { httpPort: 0, host: '127.0.0.1' } as HubConfig)) as Server;
  try {
    assert.equal(s.requestTimeout, 0, 'Node\'s default of 300 s would cut a slow upload');
    assert.equal(s.timeout, HTTP_IDLE_MS);
    assert.ok(HTTP_IDLE_MS > 15_000 * 2, 'a live stream\'s heartbeat keeps it well inside the idle limit');
    assert.ok(s.headersTimeout > 0 && s.headersTimeout <= 60_000, 'headers still have a deadline');
    const port = (s.address() as { port: number }).port;
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok');
  } finally {
    await new Promise((r) => s.close(r));
  }
});

test('staged uploads a killed hub left are swept when old; a fresh one (another hub may be receiving it) is kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-sweep-'));
  const h = makeHarness({ root: dir });
  try {
    const stale = h.store.blobs.tempPath();
    const fresh = h.store.blobs.tempPath();
    writeFileSync(stale, 'half a bundle');
    writeFileSync(fresh, 'being received');
    const old = new Date(Date.now() - 3 * HTTP_IDLE_MS);
    utimesSync(stale, old, old);
    assert.equal(h.store.blobs.sweepTemp(2 * HTTP_IDLE_MS), 1);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(fresh), true);
  } finally {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client that closes its connection mid-upload is logged as gone (info), not as an unexpected error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-abort-'));
  const logger = new RecordingLogger();
  const h = makeHarness({ root: dir, logger, verifyBundle: async () => { throw new Error('not reached'); } });
  const s = (await listen(h.app, { httpPort: 0, host: '127.0.0.1' } as HubConfig)) as Server;
  try {
    const port = (s.address() as { port: number }).port;
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(`POST /api/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${h.tokens.operator}\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000000\r\n\r\n`);
    sock.write(Buffer.alloc(64 * 1024, 1));
    const staging = dirname(h.store.blobs.tempPath());
    await waitFor('the upload staged (mid-upload)', () => readdirSync(staging).some((f) => f.endsWith('.part')) || undefined, { timeoutMs: 5000 });
    sock.destroy();
    await waitFor('the abort is logged', () => logger.lines.find((l) => /closed the connection/.test(l.msg ?? '')), { timeoutMs: 5000 });
    assert.equal(logger.lines.filter((l) => l.level === 'error').length, 0, JSON.stringify(logger.lines));
    assert.deepEqual(readdirSync(staging).filter((f) => f.endsWith('.part')), [], 'its staged file is gone');
  } finally {
    await new Promise((r) => s.close(r));
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
