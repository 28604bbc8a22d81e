import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVOKE_CHANNELS } from './ipc-channels.js';
import { IPC, isInvokeChannel, validateRequest } from './ipc.js';

test('every allow-listed channel has schemas; unknown channels are not channels', () => {
  assert.deepEqual(Object.keys(IPC).sort(), [...INVOKE_CHANNELS].sort());
  assert.equal(isInvokeChannel('profiles:list'), true);
  assert.equal(isInvokeChannel('shell:openExternal'), false);
  assert.equal(isInvokeChannel(42), false);
});

test('IPC payloads are validated: good ones pass, bad ones name the field and what was expected', () => {
  assert.deepEqual(validateRequest('profiles:save', { name: 'prod', address: 'https://hub.example:8700', token: 'efa_0123456789' }), { name: 'prod', address: 'https://hub.example:8700', token: 'efa_0123456789' });
  const bad: Array<[Parameters<typeof validateRequest>[0], unknown, RegExp]> = [
    ['profiles:save', { name: 'prod', address: 'file:///etc/passwd', token: 'efa_0123456789' }, /address: expected a hub address/],
    ['profiles:save', { name: 'prod', address: 'https://u:p@hub', token: 'efa_0123456789' }, /address: expected a hub address/],
    ['profiles:save', { name: 'prod', address: 'https://hub/x', token: 'efa_0123456789' }, /address/],
    ['profiles:save', { name: '../x', address: 'https://hub', token: 'efa_0123456789' }, /name: expected a profile name/],
    ['profiles:save', { name: 'prod', address: 'https://hub', token: 'has space inside' }, /token/],
    ['profiles:save', { name: 'prod', address: 'https://hub', token: 'efa_0123456789', extra: 1 }, /payload|extra/i],
    ['notify', { title: '', body: 'x' }, /title/],
    ['notify', 'hello', /payload/],
    ['profiles:open', null, /payload/],
  ];
  for (const [ch, payload, why] of bad) {
    assert.throws(() => validateRequest(ch, payload), (e: Error & { code?: string }) => e.code === 'INVALID_INPUT' && e.message.startsWith(`ipc ${ch}: `) && why.test(e.message), JSON.stringify(payload));
  }
});
