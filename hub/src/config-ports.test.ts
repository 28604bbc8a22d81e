// The hub's HTTP port is reached by fetch (the CLI, the console): one fetch refuses ("bad port": the Fetch standard's
// blocked ports, shared/src/fetch-ports.ts) is refused at start, from a flag or the config file, naming it and why; the
// MQTT ports, which fetch never dials, are not checked against that list. A missing data dir or a port out of range
// says what was expected.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config-load.js';

it('an --http-port or httpPort that fetch refuses is CONFIG_INVALID naming the port and why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hub-ports-'));
  try {
    // An AppError: its code, and its message matching `re` (assert.throws tests a RegExp against the property).
    const refused = (f: () => unknown, re: RegExp) => assert.throws(f, { name: 'AppError', code: 'CONFIG_INVALID', message: re });
    for (const port of ['6000', '6665', '10080']) {
      refused(() => loadConfig({ 'data-dir': 'data', 'http-port': port }, dir),
        new RegExp(`httpPort \\(--http-port\\): port ${port} is one fetch refuses to connect to \\(the Fetch standard's blocked ports, .*\\), so the CLI and the console could not reach it; expected another port`));
    }
    writeFileSync(join(dir, 'hub.json'), JSON.stringify({ dataDir: 'data', httpPort: 6667 }));
    refused(() => loadConfig({ config: join(dir, 'hub.json') }, dir), /httpPort .*port 6667 is one fetch refuses to connect to/);
    assert.equal(loadConfig({ 'data-dir': 'data', 'http-port': '0' }, dir).httpPort, 0);
    assert.equal(loadConfig({ 'data-dir': 'data', 'http-port': '6670', 'mqtt-port': '6000' }, dir).mqttPort, 6000, 'MQTT is not fetched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a missing data dir or a port out of range is CONFIG_INVALID saying what was expected, not zod\'s words', () => {
  const refused = (values: Record<string, string>, re: RegExp) => assert.throws(() => loadConfig(values, tmpdir()), { name: 'AppError', code: 'CONFIG_INVALID', message: re });
  // `edgefleet-hub run` with no --data-dir said "Invalid input: expected string, received undefined".
  refused({}, /dataDir \(--data-dir\): expected the data directory: --data-dir DIR, or "dataDir" in the config file$/);
  refused({ 'data-dir': 'data', 'http-port': '70000' }, /httpPort \(--http-port\): expected a port from 0 to 65535 \(0: any free one\)$/);
  refused({ 'data-dir': 'data', 'mqtt-port': '70000' }, /mqttPort \(--mqtt-port\): expected a port from 0 to 65535 \(0: any free one\)$/);
});
