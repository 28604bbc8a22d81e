// The agent's local API is reached by apps with fetch: a port fetch refuses ("bad port", shared/src/fetch-ports.ts) is
// refused from the flag or the file, naming it and why, and the zod-free start-up check (config-fast.ts) leaves it to
// the schema, which says so; the gRPC port is not fetched and not checked against that list.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { fastConfig } from './config-fast.js';

it('an --api-port or api.port that fetch refuses is CONFIG_INVALID naming the port and why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-agent-ports-'));
  try {
    // An AppError: its code, and its message matching `re` (assert.throws tests a RegExp against the property).
    const refused = (f: () => unknown, re: RegExp) => assert.throws(f, { name: 'AppError', code: 'CONFIG_INVALID', message: re });
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ dataDir: dir, api: { port: 6666 } }));
    assert.equal(fastConfig({ dataDir: dir, api: { port: 6666 } }), undefined, 'left to the schema');
    refused(() => loadConfig({}, { config: file }), /^invalid config: api\.port: port 6666 is one fetch refuses to connect to \(the Fetch standard's blocked ports, .*\), so apps using fetch could not reach it; expected another port, got 6666 \(in .*agent\.json\)$/);
    refused(() => loadConfig({}, { config: file, apiPort: '10080' }), /api\.port: port 10080 is one fetch refuses .* \(--api-port\)$/);
    assert.equal(loadConfig({}, { config: file, apiPort: '0' }).api.port, 0);
    writeFileSync(file, JSON.stringify({ dataDir: dir, api: { port: 8701, grpc: { enabled: true, port: 6000 } } }));
    assert.equal(loadConfig({}, { config: file }).api.grpc.port, 6000, 'gRPC is not fetched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
