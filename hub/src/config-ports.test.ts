// The hub's HTTP port is reached by fetch (the CLI, the console): one fetch refuses ("bad port": the Fetch standard's
// blocked ports, shared/src/fetch-ports.ts) is refused at start, from a flag or the config file, naming it and why; the
// MQTT ports, which fetch never dials, are not checked against that list. A missing data dir or a port out of range
// says what was expected and what was given (as the agent's config does), never a secret.
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
  refused({ 'data-dir': 'data', 'http-port': '70000' }, /httpPort \(--http-port\): expected a port from 0 to 65535 \(0: any free one\), got 70000$/);
  refused({ 'data-dir': 'data', 'mqtt-port': '70000' }, /mqttPort \(--mqtt-port\): expected a port from 0 to 65535 \(0: any free one\), got 70000$/);
  refused({ 'data-dir': 'data', 'log-level': 'loud' }, /logLevel \(--log-level\): expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"$/);
});

it('a bad value in the config file names the value given, zod\'s wording in plain words, and never a secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hub-given-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', maxBundleBytes: 'lots', ingest: { maxSeqGap: -2 }, database: 'mysql://u:hunter2@h/db', externalBroker: { url: 'tcp://b', username: 'u', password: '' } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: unknown) => {
      const m = (e as Error).message;
      assert.equal((e as { code?: string }).code, 'CONFIG_INVALID');
      assert.match(m, /maxBundleBytes \(--max-bundle-bytes\): expected a number, got "lots"/);
      assert.match(m, /ingest\.maxSeqGap: expected a number above 0, got -2/);
      assert.match(m, /externalBroker\.url: expected an mqtt:\/\/ or mqtts:\/\/ URL, got "tcp:\/\/b"/);
      assert.match(m, /database \(--database\): expected a PostgreSQL URL/);
      assert.match(m, /externalBroker\.password: expected a non-empty string(;|$)/);
      assert.doesNotMatch(m, /hunter2|Invalid input|Too small/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
