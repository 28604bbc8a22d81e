// The agent's bounds are the schema's (agent-settings.ts holds each limit once): the hub checks remote
// settings with checkRemoteSettings, so a value every box would refuse is refused at `config set`,
// naming the field, what was expected and the value; the limit itself is accepted.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { MIN_SUMMARY_BUDGET_BYTES, MAX_ORT_THREADS, MAX_STOP_GRACE_MS, MAX_TIMER_MS, MAX_WINDOW_SEC, MIN_RATE_PER_SEC, SETTING_MAX } from '../agent-settings.js';
import { checkRemoteSettings } from './agent-config.js';

const cases: Array<[string, number, number, RegExp]> = [
  ...['api.headersTimeoutMs', 'api.requestTimeoutMs', 'api.keepAliveTimeoutMs', 'api.writeTimeoutMs', 'sync.reconnectMs', 'sync.outbox.resendAfterMs']
    .map((f): [string, number, number, RegExp] => [f, MAX_TIMER_MS, MAX_TIMER_MS + 1, /expected at most 2147483647 ms \(about 24\.8 days, Node's longest timer\) \(got 2147483648\)/]),
  ['api.stopGraceMs', MAX_STOP_GRACE_MS, MAX_STOP_GRACE_MS + 1, /expected at most 4000 ms \(what the agent's stop gives requests in flight/],
  ['sync.outbox.messagesPerSec', MIN_RATE_PER_SEC, 0.0005, /expected at least 0\.001 per second .*\(got 0\.0005\)/],
  ['summaries.windowSec', MAX_WINDOW_SEC, MAX_WINDOW_SEC + 1, /expected at most 86400 s \(a day\) \(got 86401\)/],
  ['runtime.intraOpThreads', MAX_ORT_THREADS, 100_000, /expected at most 64 threads .*\(got 100000\)/],
  ['runtime.interOpThreads', MAX_ORT_THREADS, MAX_ORT_THREADS + 1, /expected at most 64 threads .*\(got 65\)/],
  ['summaries.budgetBytes', MIN_SUMMARY_BUDGET_BYTES, 64, /expected at least 65536 bytes .*\(got 64\)/],
];

it('refuses remote settings past the agent\'s bounds, naming the field and what was expected', () => {
  for (const [field, ok, bad, message] of cases) {
    assert.doesNotThrow(() => checkRemoteSettings({ [field]: ok }), `${field} = ${ok}`);
    assert.throws(() => checkRemoteSettings({ [field]: bad }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.ok(e.message.startsWith(`${field}: `), e.message);
      assert.match(e.message, message);
      assert.deepEqual(e.details, { field });
      return true;
    }, `${field} = ${bad}`);
  }
});

// A probe set api.maxBodyBytes=1e12, concurrency.queue=1e9, api.maxConnections=1e9 and
// summaries.checkpointSec=3000000 (a 3e9 ms timer, which Node fires at once) with `config set`: all taken.
it('refuses every count and size past its upper bound (SETTING_MAX), naming the field, the range and the value', () => {
  for (const [field, max] of Object.entries(SETTING_MAX)) {
    // api.maxBodyBytes at its bound needs a request budget that holds it (agent-settings.ts bodyBudgetProblem).
    const beside = field === 'api.maxBodyBytes' ? { 'api.maxInflightBodyBytes': max } : {};
    assert.doesNotThrow(() => checkRemoteSettings({ ...beside, [field]: max }), `${field} = ${max}`);
    const bad = max * 1000;
    assert.throws(() => checkRemoteSettings({ [field]: bad }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.ok(e.message.startsWith(`${field}: expected `), e.message);
      assert.match(e.message, new RegExp(`(to|at most) ${max} .*\\(got ${bad}\\)$`), e.message);
      assert.deepEqual(e.details, { field });
      return true;
    }, `${field} = ${bad}`);
  }
  assert.throws(() => checkRemoteSettings({ 'concurrency.queue': 1e9 }), { message: /^concurrency\.queue: expected 0 to 4096 waiting requests per model \(got 1000000000\)$/ });
});

it('a value of the wrong kind names the setting, the value given and what is expected, not zod\'s words', () => {
  // `edgefleet config set fleet --set summaries.windowSec=abc` said "Invalid input: expected number, received string".
  for (const [settings, message] of [
    [{ 'summaries.windowSec': 'abc' }, /^summaries\.windowSec: expected a number \(got "abc"\)$/],
    [{ 'summaries.windowSec': 1.5 }, /^summaries\.windowSec: expected a whole number \(got 1\.5\)$/],
    [{ 'summaries.windowSec': -3 }, /^summaries\.windowSec: expected a number above 0 \(got -3\)$/],
  ] as const) assert.throws(() => checkRemoteSettings(settings), { name: 'AppError', code: 'CONFIG_INVALID', message });
});
