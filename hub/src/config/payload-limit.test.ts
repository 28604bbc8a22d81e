// The hub's maxPayloadBytes against the sync.outbox.maxMessageBytes its documents give the agents, at
// start (payload-limit.ts; docs/hub.md "Config"): pure logic over the newest document of each scope.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OUTBOX_MESSAGE_BYTES } from '@edgefleet/shared';
import { checkOutboxAtStart } from './payload-limit.js';

const F = 'sync.outbox.maxMessageBytes';
const refusal = (docs: Parameters<typeof checkOutboxAtStart>[0], max: number): string => {
  try {
    checkOutboxAtStart(docs, max);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'CONFIG_INVALID');
    return (err as Error).message;
  }
  return '';
};

it('refuses a limit below the agents\' default unless the fleet document lowers it, and names every scope over it', () => {
  assert.equal(refusal([], DEFAULT_OUTBOX_MESSAGE_BYTES), '', 'the default itself');
  assert.match(refusal([], 65536), /^maxPayloadBytes: 65536 is below the sync\.outbox\.maxMessageBytes the agents are given \(the agents' default 196608 \(no fleet document sets it\)\), .*expected at least 196608, or first lower that setting to at most 65536 .*edgefleet config set fleet --set sync\.outbox\.maxMessageBytes=65536 --reason TEXT/);
  assert.match(refusal([{ scope: 'fleet', version: 3, settings: { 'summaries.windowSec': 5 } }], 65536), /the agents' default 196608 \(no fleet document sets it\)/);
  const fleet = { scope: 'fleet', version: 2, settings: { [F]: 65536 } };
  assert.equal(refusal([fleet], 65536), '');
  assert.equal(refusal([fleet, { scope: 'tag/site=a', version: 1, settings: { 'summaries.windowSec': 5 } }], 65536), '', 'a tag document without it');
  const msg = refusal([fleet, { scope: 'tag/site=a', version: 4, settings: { [F]: 70000 } }, { scope: 'device/cam-1', version: 1, settings: { [F]: 100000 } }], 65536);
  assert.match(msg, /\(tag\/site=a version 4 sets 70000; device\/cam-1 version 1 sets 100000\)/);
  assert.match(msg, /expected at least 100000/);
});
