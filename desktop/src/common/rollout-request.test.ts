import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WAVES, configRolloutRequest, rolloutRequest, settingsText, type Draft } from './rollout-request.js';

const draft = (patch: Partial<Draft> = {}): Draft => ({
  model: 'm', version: '2.0.0', target: 'all', tags: '', devices: '', gates: {}, advance: 'auto', onFailure: 'rollback', reason: 'r',
  waves: DEFAULT_WAVES, shadow: { on: false }, window: { cron: '', duration: '', timeZone: '' }, ...patch,
});

test('tags are split as a device\'s are: spaces or commas, quoted values; a ring sends tags and no percent', () => {
  const { body, problems } = rolloutRequest(draft({
    target: 'tags', tags: 'site=north ring=a, note="a b"',
    waves: [{ name: 'lab', ring: 'env=lab ring=0', percent: '5', minDevices: '', bakeSec: '60' }, { name: 'all', ring: '', percent: '100', minDevices: '', bakeSec: '0' }],
  }));
  assert.deepEqual(problems, {});
  assert.deepEqual(body['target'], { tags: { site: 'north', ring: 'a', note: 'a b' } });
  assert.deepEqual(body['waves'], [{ name: 'lab', tags: { env: 'lab', ring: '0' }, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 0 }]);
});

test('what cannot be sent as typed is named on the field the hub would name', () => {
  const { problems } = rolloutRequest(draft({
    target: 'tags', tags: 'site north',
    waves: [{ name: 'canary', ring: '', percent: 'abc', minDevices: 'one', bakeSec: '30' }, { name: 'r', ring: 'ring="a', percent: '', minDevices: '', bakeSec: '1e' }],
    gates: { minPredictions: 'lots', outputPsi: '0.3' }, shadow: { on: true, minAgreement: '95%' },
  }));
  assert.deepEqual(problems, {
    'target.tags': 'tag "site": expected key=value, separated by spaces or commas (quote a value with spaces or commas: note="a b")',
    'waves[0].percent': 'expected a number, got "abc"',
    'waves[0].minDevices': 'expected a number, got "one"',
    'waves[1].tags': 'tag "ring": the quote opened at "a… is not closed',
    'waves[1].bakeSec': 'expected a number, got "1e"',
    'gates.minPredictions': 'expected a number, got "lots"',
    'shadow.minAgreement': 'expected a number, got "95%"',
  });
});

test('empty numbers are left out (the hub names a required one or takes its default); a window as typed', () => {
  const { body, problems } = rolloutRequest(draft({
    waves: [{ name: 'all', ring: '', percent: '', minDevices: '', bakeSec: '' }], gates: { stuckSec: ' ' }, shadow: { on: true, sampleRate: '0.2' },
    window: { cron: '0 2 * * *', duration: '2h', timeZone: '' },
  }));
  assert.deepEqual(problems, {});
  assert.deepEqual(body['waves'], [{ name: 'all', percent: undefined, bakeSec: undefined }]);
  assert.equal('gates' in body, false);
  assert.deepEqual(body['shadow'], { sampleRate: 0.2 });
  assert.deepEqual(body['window'], { cron: '0 2 * * *', durationSec: '2h' });
  assert.deepEqual(rolloutRequest(draft({ window: { cron: '0 2 * * *', duration: '7200', timeZone: 'Europe/Berlin' } })).body['window'], { cron: '0 2 * * *', durationSec: 7200, timeZone: 'Europe/Berlin' });
});

test('a configuration rollout: key=value lines, values JSON when they parse; lines that cannot be sent named on settings', () => {
  const policy = { waves: DEFAULT_WAVES, gates: { maxRestarts: '1' }, advance: 'manual' as const, onFailure: 'rollback' as const, reason: 'r' };
  const { body, problems } = configRolloutRequest({ ...policy, scope: ' tag/site=north ', settings: 'summaries.windowSec=30\n\nlog.level=debug\nruntime.batching="on"\napi.grpc.enabled=true' });
  assert.deepEqual(problems, {});
  assert.deepEqual(body['settings'], { 'summaries.windowSec': 30, 'log.level': 'debug', 'runtime.batching': 'on', 'api.grpc.enabled': true });
  assert.equal(body['scope'], 'tag/site=north');
  assert.deepEqual(body['gates'], { maxRestarts: 1 });
  assert.equal(configRolloutRequest({ ...policy, scope: 'fleet', settings: 'a=1\nb' }).problems['settings'], 'line 2 "b": expected key=value, such as summaries.windowSec=30');
  assert.equal(configRolloutRequest({ ...policy, scope: 'fleet', settings: 'a=1\na=2' }).problems['settings'], 'line 2: a is given twice: expected each key once');
  assert.equal(configRolloutRequest({ ...policy, scope: 'fleet', settings: 'a=1e400' }).problems['settings'], 'line 1: a: expected a finite number, got 1e400');
  // What the form is prefilled with reads back as the same document.
  const doc = { 'log.level': 'info', 'summaries.windowSec': 30, note: '42', on: true };
  assert.deepEqual(configRolloutRequest({ ...policy, scope: 'fleet', settings: settingsText(doc) }).body['settings'], doc);
});
