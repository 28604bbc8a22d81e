// Hub config periods and timeouts that become Node timers (docs/hub.md "Config"): above Node's longest
// timer, setInterval fires every millisecond instead, so such a value is CONFIG_INVALID naming the field.
// Also a misspelt key, refused naming the one likely meant, paths read against the file, and an empty
// path or host refused, and a byte order mark named.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_TIMER_MS } from '@edgefleet/shared';
import { configFileFrom, loadConfig } from './config-load.js';

const cases: Array<[string, Record<string, unknown>]> = [
  ['alerts.evaluateEveryMs', { alerts: { evaluateEveryMs: MAX_TIMER_MS + 1 } }],
  ['alerts.webhookTimeoutMs', { alerts: { webhookTimeoutMs: 3_000_000_000 } }],
  ['alerts.webhookBackoffMs', { alerts: { webhookBackoffMs: 3_000_000_000 } }],
  ['rollouts.tickMs', { rollouts: { tickMs: 3_000_000_000 } }],
  ['stream.heartbeatMs', { stream: { heartbeatMs: 3_000_000_000 } }],
  ['retention.everyMs', { retention: { everyMs: 3_000_000_000 } }],
  ['sync.renewEveryMs', { sync: { renewEveryMs: 3_000_000_000 } }],
];

it('refuses a timer period above Node\'s longest timer, naming the field and the bound; takes the bound itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    for (const [field, section] of cases) {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', ...section }));
      assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) =>
        e.code === 'CONFIG_INVALID' && e.message.includes(field) && e.message.includes(`at most ${MAX_TIMER_MS} ms`), field);
    }
    writeFileSync(file, JSON.stringify({ dataDir: 'data', alerts: { evaluateEveryMs: MAX_TIMER_MS, webhookTimeoutMs: 30_000 } }));
    assert.equal(loadConfig({ config: file }, dir).alerts?.evaluateEveryMs, MAX_TIMER_MS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses a misspelt key naming the one likely meant and those expected there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', httpPrt: 1, retention: { windowDays: 3 } }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, /httpPrt: unknown field; did you mean "httpPort"\? \(expected one of dataDir, database,/);
      assert.match(e.message, /retention\.windowDays: unknown field; did you mean "windowsDays"\? \(expected one of windowsDays, everyMs,/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('resolves every path of the file against the file, not the working directory (docs/hub.md "Config")', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'etc', 'hub.json');
    mkdirSync(join(dir, 'etc'));
    writeFileSync(file, JSON.stringify({
      dataDir: 'data', trust: 'trust.json', contentKeys: 'keys/content.key',
      externalBroker: { url: 'mqtt://127.0.0.1:1883', username: 'hub', password: 'pw', passwordFile: 'mosquitto/passwd' },
      console: { dir: 'renderer' },
    }));
    // Under systemd the working directory is /: a relative passwordFile was appended to /mosquitto/passwd.
    const c = loadConfig({ config: file }, '/');
    assert.deepEqual(
      [c.dataDir, c.trust, c.contentKeys, c.externalBroker?.passwordFile, c.console?.dir],
      ['data', 'trust.json', 'keys/content.key', 'mosquitto/passwd', 'renderer'].map((p) => join(dir, 'etc', p)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses an empty dataDir, path or host rather than taking the file\'s directory, the working directory or every interface', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    const refused = (values: Record<string, string>, content: Record<string, unknown> | undefined, field: RegExp) => {
      if (content) writeFileSync(file, JSON.stringify(content));
      assert.throws(() => loadConfig(content ? { config: file, ...values } : values, dir), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CONFIG_INVALID', e.message);
        assert.match(e.message, field);
        return true;
      });
    };
    // "dataDir": "" made the config file's directory the hub's data dir (hub.db, admin.token, mode 0700).
    refused({}, { dataDir: '' }, /dataDir \(--data-dir\): expected the data directory/);
    refused({ 'data-dir': '' }, undefined, /dataDir \(--data-dir\): expected the data directory/);
    refused({}, { dataDir: 'data', trust: '', hubKey: '' }, /trust \(--trust\): expected a file path.*hubKey \(--hub-key\): expected a file path/);
    // "host": "" listened on every interface ([::]) instead of 127.0.0.1.
    refused({}, { dataDir: 'data', host: '' }, /host \(--host\): expected an address to listen on/);
    refused({ host: '' }, { dataDir: 'data' }, /host \(--host\): expected an address to listen on/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('names a byte order mark at the start of the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, `\uFEFF${JSON.stringify({ dataDir: 'data' })}`);
    assert.throws(() => loadConfig({ config: file }, dir), /config file .*hub\.json is not JSON: it starts with a UTF-8 byte order mark, EF BB BF: save it without one$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('EDGEFLEET_HUB_CONFIG names the file when --config is not given (a systemd drop-in sets it; the unit has no --config)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'from-env-file', logLevel: 'warn' }));
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ dataDir: 'from-flag-file' }));
    assert.equal(loadConfig(configFileFrom({}, { EDGEFLEET_HUB_CONFIG: file }), '/').dataDir, join(dir, 'from-env-file'));
    assert.equal(loadConfig(configFileFrom({ config: other }, { EDGEFLEET_HUB_CONFIG: file }), dir).dataDir, join(dir, 'from-flag-file'), '--config wins');
    // Set but empty (systemd's Environment=EDGEFLEET_HUB_CONFIG=): unset.
    assert.deepEqual(configFileFrom({ 'data-dir': 'd' }, { EDGEFLEET_HUB_CONFIG: '' }), { 'data-dir': 'd' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('externalBroker.waitMs: a minute by default, 0 to an hour, else named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    const broker = (more: Record<string, unknown>) => ({ dataDir: 'data', externalBroker: { url: 'mqtt://broker:1883', username: 'hub-1', password: 'p', ...more } });
    writeFileSync(file, JSON.stringify(broker({})));
    assert.equal(loadConfig({ config: file }, dir).externalBroker?.waitMs, 60_000, 'a start waits a minute for a broker it cannot reach');
    writeFileSync(file, JSON.stringify(broker({ waitMs: 0 })));
    assert.equal(loadConfig({ config: file }, dir).externalBroker?.waitMs, 0);
    for (const [ms, re] of [[3_600_001, /externalBroker\.waitMs.*expected at most 3600000 ms \(an hour\)/], [-1, /externalBroker\.waitMs/], [1.5, /externalBroker\.waitMs/]] as const) {
      writeFileSync(file, JSON.stringify(broker({ waitMs: ms })));
      assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && re.test(e.message), String(ms));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
