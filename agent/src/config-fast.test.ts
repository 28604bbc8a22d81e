// config-fast.ts against the zod schema in config.ts: on generated configs (good, bad and
// unusual values in every section, unknown keys) the quick check either declines or returns
// exactly what the schema returns; and it accepts the ordinary configs, so the daemon really
// starts without loading zod.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AgentConfig } from './config.js';
import { fastConfig } from './config-fast.js';

const num = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 256 }), weight: 60 },
  fc.integer({ min: -2, max: 70_000 }),
  fc.constantFrom(0, 1, 8, 256, 257, 1023, 1024, 65535, 65536, 1024 * 1024, 1024 * 1024 + 1, 2 ** 53, 1.5, -0, Number.NaN, Infinity),
  fc.double({ noNaN: false }),
);
const val = fc.oneof(num, fc.boolean(), fc.string({ maxLength: 10 }), fc.constant(null), fc.constantFrom('info', 'warn', 'basic', 'all', 'nope'));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
/** An object with some of `keys` (values from `v`) and now and then an unknown key. */
const obj = (keys: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(fc.record(Object.fromEntries(Object.entries(keys).map(([k, a]) => [k, maybe(a)]))), fc.oneof({ arbitrary: fc.constant(null), weight: 30 }, fc.constantFrom('extra', 'windw')))
    .map(([o, extra]) => {
      const r: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
      if (extra) r[extra] = 1;
      return r;
    });
const section = (keys: Record<string, fc.Arbitrary<unknown>>) => fc.oneof({ arbitrary: obj(keys), weight: 30 }, val);

const merged = fc.record({
  dataDir: fc.oneof({ arbitrary: fc.constant('/var/lib/edgefleet-agent'), weight: 30 }, fc.constant(''), num),
  api: obj({ host: fc.oneof({ arbitrary: fc.constant('127.0.0.1'), weight: 10 }, val), port: num, token: fc.oneof({ arbitrary: fc.constant('0123456789'), weight: 10 }, fc.constant('short'), val), maxBodyBytes: num,
    // The bounds of config-bounds.ts, at and past each.
    stopGraceMs: fc.oneof(num, fc.constantFrom(4000, 4001)), requestTimeoutMs: fc.oneof(num, fc.constantFrom(2 ** 31 - 1, 2 ** 31)),
    socket: fc.oneof({ arbitrary: fc.constant('/run/edgefleet/agent.sock'), weight: 10 }, val), socketGroup: fc.oneof({ arbitrary: fc.constant('edgefleet'), weight: 10 }, val),
    grpc: section({ enabled: fc.oneof({ arbitrary: fc.boolean(), weight: 10 }, val), port: num, socket: fc.oneof({ arbitrary: fc.constant('/run/edgefleet/agent-grpc.sock'), weight: 10 }, val), maxConcurrentStreams: num, maxCalls: num }) }),
  runtime: maybe(section({ intraOpThreads: num, interOpThreads: num, spinning: fc.oneof({ arbitrary: fc.boolean(), weight: 10 }, val), graphOptimization: fc.oneof({ arbitrary: fc.constantFrom('disabled', 'basic', 'extended', 'all'), weight: 10 }, val),
    backend: fc.oneof({ arbitrary: fc.constantFrom('native', 'wasm', 'auto'), weight: 10 }, val), batching: fc.oneof({ arbitrary: fc.constantFrom('off', 'on', 'auto'), weight: 10 }, val),
    maxBatchSize: fc.oneof(num, fc.constantFrom(1024, 1025)), maxQueueDelayUs: fc.oneof(num, fc.constantFrom(0, 1_000_000, 1_000_001)) })),
  concurrency: maybe(section({ perModel: num, queue: num })),
  summaries: maybe(section({ windowSec: fc.oneof(num, fc.constantFrom(86_400, 86_401)), budgetBytes: num })),
  batch: maybe(fc.oneof(fc.constant({}), fc.constant({ jobs: [] }), fc.constant({ jobs: [{ name: 'n', model: 'm', cron: '* * * * *', input: '/in/*.csv', outputDir: '/out' }] }), val)),
  sync: maybe(section({ brokerUrl: fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 }, fc.constantFrom('mqtt://127.0.0.1:1883', 'not a url')), blockSize: fc.oneof({ arbitrary: fc.integer({ min: 1024, max: 1024 * 1024 }), weight: 10 }, num), window: num, reconnectMs: fc.oneof(num, fc.constantFrom(2 ** 31 - 1, 2 ** 31)), keepaliveSec: fc.oneof(num, fc.constantFrom(3600, 3601)), outbox: section({ batchSize: num, messagesPerSec: fc.oneof(num, fc.constantFrom(0.001, 0.0009)), maxMessageBytes: fc.oneof({ arbitrary: fc.integer({ min: 1024, max: 1 << 20 }), weight: 10 }, num), resendAfterMs: num }) })),
  capture: maybe(section({ budgetBytes: fc.oneof(num, fc.constantFrom(65_535, 65_536, 1 << 30, (1 << 30) + 1)), chunkBytes: fc.oneof(num, fc.constantFrom(4095, 4096, 98_304, 98_305)), flushSec: num, uploadsPerSec: fc.oneof(num, fc.constantFrom(0.5, 100, 101)) })),
  allowNonFinite: maybe(fc.oneof({ arbitrary: fc.boolean(), weight: 10 }, val)),
  log: maybe(section({ level: fc.oneof({ arbitrary: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), weight: 10 }, val) })),
}).map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)));

describe('fastConfig', () => {
  it('accepts only what the schema accepts, with the same result', () => {
    let accepted = 0;
    fc.assert(
      fc.property(merged, (m) => {
        const fast = fastConfig(m);
        if (fast === undefined) return;
        accepted++;
        const r = AgentConfig.safeParse(m);
        assert.ok(r.success, `fastConfig accepted what the schema refuses: ${JSON.stringify(m)}: ${r.success ? '' : r.error.message}`);
        assert.deepStrictEqual(fast, r.data);
      }),
      { seed: 8, numRuns: 4000 },
    );
    assert.ok(accepted > 50, `only ${accepted} generated configs were accepted: the comparison tested too little`);
  });

  it('agrees with the schema at every field\'s bounds', () => {
    const paths: string[][] = [
      ['api', 'port'], ['api', 'maxBodyBytes'], ['api', 'host'], ['api', 'token'], ['api', 'socket'], ['api', 'socketGroup'], ['api', 'grpc', 'enabled'],
      ['api', 'grpc', 'port'], ['api', 'grpc', 'socket'], ['api', 'grpc', 'maxConcurrentStreams'], ['api', 'grpc', 'maxCalls'], ['runtime', 'intraOpThreads'], ['runtime', 'interOpThreads'],
      ['runtime', 'spinning'], ['runtime', 'graphOptimization'], ['concurrency', 'perModel'], ['concurrency', 'queue'], ['summaries', 'windowSec'],
      ['summaries', 'budgetBytes'], ['sync', 'blockSize'], ['sync', 'window'], ['sync', 'reconnectMs'], ['sync', 'keepaliveSec'], ['sync', 'outbox', 'batchSize'],
      ['sync', 'outbox', 'messagesPerSec'], ['sync', 'outbox', 'maxMessageBytes'], ['sync', 'outbox', 'resendAfterMs'], ['allowNonFinite'], ['log', 'level'],
    ];
    const values: unknown[] = [-1, -0, 0, 0.5, 1, 7, 8, 64, 65, 256, 257, 1023, 1024, 65535, 65536, 2 ** 20, 2 ** 20 + 1, 2 ** 53, Number.NaN, Infinity, '1', '', 'short', '12345678', 'basic', 'warn', true, null, {}, []];
    let accepted = 0;
    for (const path of paths) {
      for (const v of values) {
        const m: Record<string, unknown> = { dataDir: '/d', api: {} };
        let o = m;
        path.slice(0, -1).forEach((k) => { o = (o[k] ??= {}) as Record<string, unknown>; });
        o[path[path.length - 1]!] = v;
        const fast = fastConfig(m);
        const r = AgentConfig.safeParse(m);
        if (fast === undefined) continue;
        accepted++;
        assert.ok(r.success, `${path.join('.')} = ${String(v)}: fastConfig accepted what the schema refuses`);
        assert.deepStrictEqual(fast, r.data, `${path.join('.')} = ${String(v)}`);
      }
    }
    assert.ok(accepted > 100, `only ${accepted} accepted`);
  });

  it('accepts the ordinary configs (defaults, token, runtime overrides, sync tuning, log level)', () => {
    const ordinary: Record<string, unknown>[] = [
      { dataDir: '/d', api: {} },
      { dataDir: '/d', api: { host: '0.0.0.0', port: 8701, token: 'a-long-token' } },
      { dataDir: '/d', api: { socket: '/run/edgefleet/agent.sock', socketGroup: 'edgefleet', grpc: { enabled: true, socket: '/run/edgefleet/agent-grpc.sock' } } },
      { dataDir: '/d', api: { port: 0 }, runtime: { intraOpThreads: 2, spinning: false, graphOptimization: 'basic' }, concurrency: { perModel: 2, queue: 0 } },
      { dataDir: '/d', api: {}, summaries: { windowSec: 300 }, batch: { jobs: [] }, sync: { window: 16, outbox: { batchSize: 10 } }, allowNonFinite: true, log: { level: 'warn' } },
    ];
    for (const m of ordinary) {
      const fast = fastConfig(m);
      assert.ok(fast, `declined ${JSON.stringify(m)}`);
      assert.deepStrictEqual(fast, AgentConfig.parse(m));
    }
  });

  it('leaves what it cannot judge to the schema: a broker URL, batch jobs, unknown keys, bad values', () => {
    for (const m of [
      { dataDir: '/d', api: {}, sync: { brokerUrl: 'mqtt://127.0.0.1:1883' } },
      { dataDir: '/d', api: {}, batch: { jobs: [{ name: 'n' }] } },
      { dataDir: '/d', api: {}, sync: { windw: 4 } },
      { dataDir: '/d', api: { port: 70000 } },
      { dataDir: '', api: {} },
    ]) assert.equal(fastConfig(m), undefined, JSON.stringify(m));
  });
});
