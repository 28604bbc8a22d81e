// Settings the agent cannot honour (config-bounds.ts, carried by the shared schema): a duration past
// Node's longest timer (it would fire after 1 ms), a send rate whose wait does not fit a timer, a summary
// window longer than a day, a stop grace past the agent's stop budget. Refused naming the field and what
// was expected by the schema path, declined by the quick check, and refused whole when a hub sends one,
// with nothing stored and no restart.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, SETTING_MAX, settingsHash } from '@edgefleet/shared';
import { MAX_ORT_THREADS, MAX_STOP_GRACE_MS, MAX_TIMER_MS, MAX_WINDOW_SEC, MIN_RATE_PER_SEC, MIN_SUMMARY_BUDGET_BYTES } from './config-bounds.js';
import { validateConfig } from './config.js';
import { fastConfig } from './config-fast.js';
import { readRemoteConfig, writeRemoteConfig } from './config-remote.js';
import { ConfigApplier } from './sync/config-apply.js';
import { resolveStartConfig } from './config-start.js';

const nest = (path: string, v: unknown): Record<string, unknown> => {
  const out: Record<string, unknown> = { dataDir: '/d', api: {} };
  const keys = path.split('.');
  let o = out;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]!] = v;
  return out;
};

const cases: Array<[string, number, number]> = [
  ...['api.headersTimeoutMs', 'api.requestTimeoutMs', 'api.keepAliveTimeoutMs', 'api.writeTimeoutMs', 'sync.reconnectMs', 'sync.outbox.resendAfterMs']
    .map((f): [string, number, number] => [f, MAX_TIMER_MS, MAX_TIMER_MS + 1]),
  ['api.stopGraceMs', MAX_STOP_GRACE_MS, MAX_STOP_GRACE_MS + 1],
  ['sync.outbox.messagesPerSec', MIN_RATE_PER_SEC, MIN_RATE_PER_SEC / 2],
  ['capture.uploadsPerSec', MIN_RATE_PER_SEC, 1e-9],
  ['summaries.windowSec', MAX_WINDOW_SEC, MAX_WINDOW_SEC + 1],
  // 100000 intra-op threads kept a box creating its session for minutes, memory growing, deaf to SIGTERM.
  ['runtime.intraOpThreads', MAX_ORT_THREADS, 100_000],
  ['runtime.interOpThreads', MAX_ORT_THREADS, MAX_ORT_THREADS + 1],
  // summaries.budgetBytes=64 (meant as MiB) made every box drop its unsent windows at once.
  ['summaries.budgetBytes', MIN_SUMMARY_BUDGET_BYTES, 64],
];

it('refuses durations past the longest timer, rates too slow for one, windows past a day, thread pools past the bound, naming the field', () => {
  for (const [field, ok, bad] of cases) {
    assert.ok(validateConfig(nest(field, ok)), `${field} = ${ok}`);
    assert.throws(() => validateConfig(nest(field, bad)), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, new RegExp(`${field.replace(/\./g, '\\.')}: expected at (most|least) ${ok} `));
      assert.equal((e.details as Array<{ path: PropertyKey[] }>)[0]?.path.join('.'), field);
      return true;
    }, `${field} = ${bad}`);
    assert.equal(fastConfig(nest(field, bad)), undefined, `the quick check must leave ${field} = ${bad} to the schema`);
  }
});

it('the limit is Node\'s: one millisecond more fires at once', async () => {
  const t0 = Date.now();
  await new Promise<void>((resolve) => setTimeout(resolve, MAX_TIMER_MS + 1)); // and a TimeoutOverflowWarning
  assert.ok(Date.now() - t0 < 1000);
});

it('refuses a remote configuration with such a value whole: reported with the field, nothing stored, no restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bounds-'));
  try {
    const local = { dataDir: dir };
    let restarts = 0;
    const live: string[] = [];
    const applier = new ConfigApplier({
      local, current: validateConfig(local), stored: undefined, validate: validateConfig,
      store: (r) => writeRemoteConfig(dir, r),
      live: {
        windowSec: () => live.push('windowSec'), checkpointSec: () => live.push('checkpointSec'), budgetBytes: () => live.push('budgetBytes'),
        outbox: () => live.push('outbox'), concurrency: () => live.push('concurrency'), logLevel: () => live.push('log'),
      },
      restart: () => restarts++, changed: () => undefined, log: () => undefined, now: () => new Date('2026-03-01T12:00:00Z'),
    });
    const settings = { 'sync.reconnectMs': 2 ** 31, 'summaries.windowSec': 30 };
    applier.apply({ sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 1 }], settings });
    const r = applier.report();
    assert.equal(r?.status, 'failed');
    assert.equal(r?.error?.field, 'sync.reconnectMs');
    assert.equal(r?.error?.code, 'CONFIG_INVALID');
    assert.deepEqual([readRemoteConfig(dir), restarts, live], [undefined, 0, []]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses every count and size past its upper bound (SETTING_MAX) in a local config, and the quick check leaves it to the schema', () => {
  for (const [field, max] of Object.entries(SETTING_MAX)) {
    const ok = field === 'api.maxBodyBytes' ? nest('api.maxInflightBodyBytes', SETTING_MAX['api.maxInflightBodyBytes']) : nest(field, max);
    if (field === 'api.maxBodyBytes') (ok.api as Record<string, unknown>).maxBodyBytes = max;
    assert.ok(validateConfig(ok), `${field} = ${max}`);
    assert.ok(fastConfig(ok), `the quick check takes ${field} = ${max}`);
    const bad = nest(field, max * 1000);
    assert.throws(() => validateConfig(bad), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.match(e.message, new RegExp(`${field.replace(/\./g, '\\.')}: expected .*(to|at most) ${max} `), e.message);
      return true;
    }, `${field} = ${max * 1000}`);
    assert.equal(fastConfig(bad), undefined, `${field} = ${max * 1000}`);
  }
});

it('`edgefleet-agent run` with a file over a bound exits 1 naming the key, the range, the value and the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bounds-'));
  try {
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ dataDir: join(dir, 'data'), api: { port: 0 }, concurrency: { queue: 1e9 } }));
    const bin = fileURLToPath(new URL('../bin/edgefleet-agent.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'run', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.ok((r.stderr + r.stdout).includes(`concurrency.queue: expected 0 to 4096 waiting requests per model, got 1000000000 (in ${file})`), r.stderr + r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('remote settings an older agent stored past a bound are ignored at start, saying why: the box starts on its local config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bounds-'));
  try {
    const settings = { 'concurrency.queue': 1e9, 'summaries.windowSec': 30 };
    writeRemoteConfig(dir, { sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: 3 }], settings, at: '2026-03-01T12:00:00.000Z', confirmed: true });
    const s = resolveStartConfig({ dataDir: dir }, validateConfig);
    assert.equal(s.remote, undefined);
    assert.deepEqual([s.config.concurrency.queue, s.config.summaries.windowSec], [64, 60]);
    assert.match(s.problems.join('\n'), /is ignored: invalid config: concurrency\.queue: expected 0 to 4096 waiting requests per model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
