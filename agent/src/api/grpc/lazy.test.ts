// gRPC stays off the daemon's default path (idle RSS, docs/performance.md): an
// agent started without api.grpc.enabled never loads @grpc/grpc-js or the proto
// loader; one started with it does (so the check can fail). Fresh processes,
// since this test process may have loaded grpc-js already.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '@edgefleet/examples';

const script = (dataDir: string, enabled: boolean) => `
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { createAgent } from './agent/src/agent.ts';
import { fastConfig } from './agent/src/config-fast.ts';
const config = fastConfig({ dataDir: ${JSON.stringify(dataDir)}, api: { port: 0, grpc: { enabled: ${enabled}, port: 0 } } });
const agent = createAgent(config, { logger: pino({ level: 'silent' }), reconcileMs: 0, sync: false });
await agent.start();
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@grpc/'));
await agent.stop();
console.log(JSON.stringify({ grpc: loaded.length }));
`;

describe('gRPC is loaded lazily', () => {
  for (const enabled of [false, true]) {
    it(`${enabled ? 'loads' : 'does not load'} @grpc/* when api.grpc.enabled is ${enabled}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ef-lazy-'));
      try {
        const r = await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script(join(dir, 'data'), enabled)], { cwd: repoRoot(), timeout: 60_000 });
        const { grpc } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { grpc: number };
        if (enabled) assert.ok(grpc > 0, 'grpc-js was loaded when enabled');
        else assert.equal(grpc, 0, 'grpc-js was loaded on the default path');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
