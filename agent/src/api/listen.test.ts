// A listener the agent cannot open at start (docs/agent.md "Configuration"): a port another program
// holds, an address that is not the box's. CONFIG_INVALID naming the setting, its value and what was
// expected, not INTERNAL with node's bare errno text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAgent } from '../agent.js';
import type { AgentConfigInput } from '../config.js';
import { makeKit, testConfig } from '../testing.js';

/** Starts an agent expected to fail; stops it (what did start) whatever happens. */
async function startFailing(dataDir: string, over: Partial<AgentConfigInput>, check: (err: Error & { code?: string }) => void): Promise<void> {
  const agent = createAgent(testConfig(dataDir, over), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
  try {
    await assert.rejects(agent.start(), (err: Error & { code?: string }) => {
      check(err);
      return true;
    });
  } finally {
    await agent.stop();
  }
}

async function taken(): Promise<{ port: number; close(): void }> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, close: () => s.close() };
}

describe('listen errors at start', () => {
  it('api.port in use: CONFIG_INVALID naming api.port, the port and what was expected', async () => {
    const kit = makeKit();
    const other = await taken();
    try {
      await startFailing(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: other.port } }, (err) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(err.message, `api.port ${other.port} on 127.0.0.1 is in use (EADDRINUSE): expected a free port: another agent or program listens on ${other.port}`);
      });
    } finally {
      other.close();
      kit.cleanup();
    }
  });

  it('api.grpc.port in use: CONFIG_INVALID naming api.grpc.port', async () => {
    const kit = makeKit();
    const other = await taken();
    try {
      await startFailing(join(kit.dir, 'data'), { api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: other.port } } }, (err) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(err.message, `api.grpc.port ${other.port} on 127.0.0.1 is in use (EADDRINUSE): expected a free port: another agent or program listens on ${other.port}`);
      });
    } finally {
      other.close();
      kit.cleanup();
    }
  });

  it('api.host not an address of this box: CONFIG_INVALID naming api.host', async () => {
    const kit = makeKit();
    try {
      await startFailing(join(kit.dir, 'data'), { api: { host: '192.0.2.1', port: 0 } }, (err) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(err.message, 'api.host 192.0.2.1 is not an address of this box (EADDRNOTAVAIL): expected the address of one of its interfaces, 127.0.0.1 (the default) or 0.0.0.0');
      });
    } finally {
      kit.cleanup();
    }
  });
});
