// Agent config: precedence (file < env < flags), the hub-link (sync) section
// and its --broker flag, and start-up refusals that name what was wrong (a bad
// sync value, a bad batch cron, a broken credentials.json).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AppError } from '@edgefleet/shared';
import { createAgent } from './agent.js';
import { loadConfig } from './config.js';
import { testConfig } from './testing.js';

describe('agent config: sync', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-agent-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };

  it('fills sync defaults, and --broker overrides the file', () => {
    const c = loadConfig({}, { dataDir: join(dir, 'd') });
    assert.deepEqual(c.sync, {
      blockSize: 1024 * 1024, window: 8, reconnectMs: 2000, keepaliveSec: 30, removedKeepSec: 604_800,
      outbox: { batchSize: 50, messagesPerSec: 20, maxMessageBytes: 192 * 1024, resendAfterMs: 15_000 },
    });
    const cfg = file('a.json', { sync: { brokerUrl: 'mqtt://file.example:1883', outbox: { batchSize: 10 } } });
    assert.equal(loadConfig({}, { dataDir: dir, config: cfg }).sync.brokerUrl, 'mqtt://file.example:1883');
    const o = loadConfig({}, { dataDir: dir, config: cfg, broker: 'mqtt://127.0.0.1:1999' });
    assert.equal(o.sync.brokerUrl, 'mqtt://127.0.0.1:1999');
    for (const url of ['mqtts://hub.example:8883', 'ws://hub.example:8083', 'wss://hub.example/mqtt']) assert.equal(loadConfig({}, { dataDir: dir, broker: url }).sync.brokerUrl, url);
    assert.equal(o.sync.outbox.batchSize, 10, 'the rest of the file section stays');
  });

  it('takes dataDir and api.token from the file, then the environment, then the flags (file < env < flags)', () => {
    const cfg = file('prec.json', { dataDir: join(dir, 'from-file'), api: { token: 'file-token-1' } });
    const env = { EDGEFLEET_AGENT_DATA: join(dir, 'from-env'), EDGEFLEET_AGENT_API_TOKEN: 'env-token-1' };
    const fileOnly = loadConfig({}, { config: cfg });
    assert.deepEqual([fileOnly.dataDir, fileOnly.api.token], [join(dir, 'from-file'), 'file-token-1']);
    const withEnv = loadConfig(env, { config: cfg });
    assert.deepEqual([withEnv.dataDir, withEnv.api.token], [join(dir, 'from-env'), 'env-token-1']);
    assert.equal(loadConfig(env, { config: cfg, dataDir: join(dir, 'from-flag') }).dataDir, join(dir, 'from-flag'));
    assert.equal(loadConfig({ EDGEFLEET_AGENT_DATA: join(dir, 'from-env') }).dataDir, join(dir, 'from-env'));
  });

  it('refuses bad sync values, naming the field', () => {
    const cases: Array<[unknown, string | undefined, RegExp]> = [
      [{ sync: { outbox: { batchSize: 0 } } }, undefined, /sync\.outbox\.batchSize/],
      [{ sync: { blockSize: 10 } }, undefined, /sync\.blockSize/],
      [{ sync: { windw: 4 } }, undefined, /sync.*windw/],
      // One blob/get asks for the whole window; the hub takes at most 64 blocks in one.
      [{ sync: { window: 65 } }, undefined, /sync\.window: expected a number at most 64, got 65/],
      [{}, 'not a url', /sync\.brokerUrl: expected the hub's MQTT broker, mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/HOST:PORT, .*; got "not a url" \(--broker\)$/],
      // The hub's API address given as its broker: before, taken and retried forever ("mqtt error: Invalid header flag bits").
      [{ sync: { brokerUrl: 'http://hub.example:8700' } }, undefined, /sync\.brokerUrl: .*got "http:\/\/hub\.example:8700": an http\(s\):\/\/ URL is the hub's API address, which "enroll --hub" takes, not its broker \(in .*bad\.json\)$/],
      [{}, 'https://hub.example', /got "https:\/\/hub\.example": an http\(s\):\/\/ URL is the hub's API address/],
      [{}, 'mqtt//127.0.0.1:1883', /got "mqtt\/\/127\.0\.0\.1:1883" \(--broker\)/],
      [{}, 'file:///tmp/x', /expected the hub's MQTT broker/],
    ];
    for (const [v, broker, re] of cases) {
      assert.throws(() => loadConfig({}, { dataDir: dir, config: file('bad.json', v), broker }), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.match(e.message, re);
        return true;
      });
    }
  });

  it('start fails naming a bad batch cron or a broken credentials.json', async () => {
    const silent = { logger: pino({ level: 'silent' }), reconcileMs: 0 };
    const a = createAgent(testConfig(join(dir, 'cron'), { batch: { jobs: [{ name: 'nightly', model: 'm', cron: 'every day', input: '/tmp/x/*.csv', outputDir: '/tmp/y' }] } }), silent);
    await assert.rejects(a.start(), (e: AppError) => e.code === 'CONFIG_INVALID' && /batch job "nightly"/.test(e.message));
    await a.stop();

    const data = join(dir, 'creds');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: 'edgefleet.credentials/v1', deviceId: 'box-1', secret: 'short', brokers: [] }));
    const b = createAgent(testConfig(data), silent);
    await assert.rejects(b.start(), (e: AppError) => /credentials .*credentials\.json/.test(e.message) && /secret|brokers/.test(e.message));
    await b.stop();
  });
});

describe('agent config: the file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-agent-config-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };
  const refused = (f: () => unknown, ...res: RegExp[]) =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.code, 'CONFIG_INVALID');
      for (const re of res) assert.match(e.message, re);
      return true;
    });

  it('never takes an empty data directory for the working directory', () => {
    const good = file('good.json', { dataDir: join(dir, 'from-file') });
    // Set but empty (systemd's Environment=EDGEFLEET_AGENT_DATA=, docker -e X=): unset, as for the token.
    assert.equal(loadConfig({ EDGEFLEET_AGENT_DATA: '' }, { config: good }).dataDir, join(dir, 'from-file'));
    const empty = file('empty.json', { dataDir: '' });
    refused(() => loadConfig({}, { config: empty }), /dataDir/, new RegExp(empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /expected/);
    refused(() => loadConfig({}, { config: good, dataDir: '' }), /dataDir/, /--data-dir/);
  });

  it('refuses a section that is not an object, naming the file and the section', () => {
    for (const [v, flags, key] of [
      [{ api: 5 }, {}, 'api'],
      [{ api: null }, {}, 'api'],
      [{ api: 'x' }, { apiPort: 8701 }, 'api'],
      [{ log: 'debug' }, { logLevel: 'warn' }, 'log'],
      [{ sync: [] }, { broker: 'mqtt://127.0.0.1:1883' }, 'sync'],
    ] as const) {
      const p = file('section.json', { dataDir: dir, ...v });
      refused(() => loadConfig({}, { config: p, ...flags }), new RegExp(`${key}: expected an object`), /section\.json/);
    }
  });

  it('reads relative paths in the file against the file, as the hub does; flags against the working directory', () => {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    const p = join(dir, 'etc', 'agent.json');
    writeFileSync(p, JSON.stringify({
      dataDir: 'data', api: { socket: 'run/agent.sock', grpc: { socket: 'run/grpc.sock' } },
      batch: { jobs: [{ name: 'nightly', model: 'm', cron: '0 2 * * *', input: 'in/*.csv', outputDir: 'out' }] },
    }));
    // Under systemd the working directory is /: "data" was /data.
    assert.notEqual(process.cwd(), join(dir, 'etc'));
    const c = loadConfig({}, { config: p });
    const at = (f: string) => join(dir, 'etc', f);
    assert.deepEqual([c.dataDir, c.api.socket, c.api.grpc.socket, c.batch.jobs[0]?.input, c.batch.jobs[0]?.outputDir],
      [at('data'), at('run/agent.sock'), at('run/grpc.sock'), at('in/*.csv'), at('out')]);
    assert.equal(loadConfig({}, { config: p, dataDir: 'flag-dir' }).dataDir, join(process.cwd(), 'flag-dir'));
    assert.equal(loadConfig({ EDGEFLEET_AGENT_DATA: 'env-dir' }, { config: p }).dataDir, join(process.cwd(), 'env-dir'));
  });

  it('names a byte order mark at the start of the file, which the parser\'s message shows as an invisible character', () => {
    const p = join(dir, 'bom.json');
    writeFileSync(p, `\uFEFF${JSON.stringify({ dataDir: dir })}`);
    refused(() => loadConfig({}, { config: p }), /bom\.json is not valid JSON: it starts with a UTF-8 byte order mark, EF BB BF: save it without one/);
  });

  it('names the line and column of a syntax error (a trailing comma), and what a file that is not an object holds', () => {
    const p = join(dir, 'comma.json');
    writeFileSync(p, '{\n  "api": {\n    "port": 8701,\n  }\n}\n');
    refused(() => loadConfig({}, { config: p }), /comma\.json is not valid JSON: .* \(line 4, column 3\); expected a JSON object of the settings/);
    refused(() => loadConfig({}, { config: file('array.json', [1]) }), /array\.json is not a JSON object: expected a JSON object of the settings, got an array$/);
  });

  it('refuses a misspelt key naming the one likely meant and those expected there, and the file', () => {
    const top = file('typo-top.json', { dataDir: dir, concurency: { perModel: 2 } });
    refused(() => loadConfig({}, { config: top }), /concurency: unknown field; did you mean "concurrency"\? \(expected one of dataDir, api, runtime, concurrency,/, /typo-top\.json/);
    // In a section with a default (api.grpc) and one with a prefault (sync.outbox), a key no schema knows gets no guess.
    const deep = file('typo-deep.json', { dataDir: dir, api: { grpc: { maxCall: 8 } }, sync: { outbox: { batchSize: 5, resendAfterMS: 9 } }, log: { lvl: 'x', zzzzzzzz: 1 } });
    refused(() => loadConfig({}, { config: deep }),
      /api\.grpc\.maxCall: unknown field; did you mean "maxCalls"\? \(expected one of enabled, port, socket, maxConcurrentStreams, maxCalls\)/,
      /sync\.outbox\.resendAfterMS: unknown field; did you mean "resendAfterMs"\?/,
      /log\.zzzzzzzz: unknown field \(expected one of level\)/);
    // A batch job's misspelt "version" ran the job on whatever version was active, without a word.
    const job = file('typo-job.json', { dataDir: dir, batch: { jobs: [{ name: 'nightly', model: 'm', versoin: '1.0.0', cron: '0 2 * * *', input: '/in/*.csv', outputDir: '/out' }] } });
    refused(() => loadConfig({}, { config: job }), /batch\.jobs\[0\]\.versoin: unknown field; did you mean "version"\? \(expected one of name, model, version, cron, input, outputDir\)/);
    // And "batch": {"job": [...]} dropped every job: the section was not strict.
    const section = file('typo-batch.json', { dataDir: dir, batch: { job: [] } });
    refused(() => loadConfig({}, { config: section }), /batch\.job: unknown field; did you mean "jobs"\? \(expected one of jobs\)/);
  });

  it('names the file a bad value came from, and the flag or variable when it came from one', () => {
    const p = file('bad-value.json', { dataDir: dir, concurrency: { perModel: 0 }, api: { port: 8701 } });
    refused(() => loadConfig({}, { config: p }), /concurrency\.perModel/, /bad-value\.json/, /expected/);
    const q = file('ok-value.json', { dataDir: dir });
    refused(() => loadConfig({}, { config: q, apiPort: 70000 }), /api\.port/, /--api-port/);
    refused(() => loadConfig({ EDGEFLEET_AGENT_API_TOKEN: 'short' }, { config: q }), /api\.token/, /EDGEFLEET_AGENT_API_TOKEN/);
    refused(() => loadConfig({}, { config: q, logLevel: 'loud' }), /log\.level/, /--log-level/);
  });

  it('names the value it refused beside what it expected, but never a token', () => {
    const p = file('values.json', { dataDir: dir, runtime: { backend: 'wsam' }, concurrency: { perModel: '4' }, api: { port: '8701', allowedHosts: 'box.lan' } });
    refused(() => loadConfig({}, { config: p }),
      /runtime\.backend: expected one of "native", "wasm", "auto", got "wsam" \(in .*values\.json\)/,
      /concurrency\.perModel: expected a number, got "4" \(in /,
      /api\.port: expected a number, got "8701" \(in /,
      /api\.allowedHosts: expected an array, got "box\.lan" \(in /);
    refused(() => loadConfig({}, { config: file('zero.json', { dataDir: dir }), apiPort: 70000 }), /api\.port: expected a port from 0 to 65535 \(0: any free one\), got 70000 \(--api-port\)$/);
    const long = 'x'.repeat(200);
    refused(() => loadConfig({}, { config: file('long.json', { dataDir: dir, log: { level: long } }) }), new RegExp(`got "${'x'.repeat(76)}\\.\\.\\. \\(in `));
    assert.throws(() => loadConfig({ EDGEFLEET_AGENT_API_TOKEN: 'secret7' }, { config: file('token.json', { dataDir: dir }) }), (e: unknown) => {
      // docs/agent.md "Configuration": a token shorter than 8 characters is refused at start.
      assert.match((e as Error).message, /api\.token: expected a bearer token of at least 8 characters \(EDGEFLEET_AGENT_API_TOKEN\)$/);
      assert.doesNotMatch((e as Error).message, /secret7/);
      return true;
    });
  });
});
