// The command the CLI adds to the hub's NOT_FOUND (not-found.ts): chosen by the kind in the answer's details, one
// for each kind that has a list; none where the message names a command already, the kind has no list, or the
// details name no kind. Through a real hub: remote-deploy.test.ts, alerts.test.ts; the hub's kinds:
// hub/src/api/not-found-kinds.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundKind } from '@edgefleet/shared';
import { resolveCommand } from '@edgefleet/shared/cli';
import { commands } from './main.js';
import { notFoundHint } from './not-found.js';

test('a NOT_FOUND names the command that lists the kind its details name, once, and that command exists', () => {
  // Kinds with a list to point to; the others (a configuration version, purged chunks, a blob, a route) get none.
  const withList = new Set<NotFoundKind>(['device', 'rollout', 'deployment', 'token', 'enrollment_token', 'drift_report', 'alert_rule', 'alert', 'model', 'model_version', 'capture']);
  // The message's words play no part: the same words under each kind get that kind's command.
  for (const kind of NotFoundKind.options) {
    const out = notFoundHint('not here: x', { kind, id: 'x' });
    const hint = /^not here: x \((edgefleet [^)]+) lists them\)$/.exec(out)?.[1];
    if (!withList.has(kind)) {
      assert.equal(out, 'not here: x', kind);
      continue;
    }
    assert.ok(hint, `${kind}: ${out}`);
    // The hint is a command this CLI has (a renamed command fails here, not in an operator's terminal).
    const words = hint.split(' ').slice(1);
    const r = resolveCommand(commands, words);
    assert.ok(r.kind === 'command' && r.rest.length === 0, `${kind}: "${hint}" is not a command of edgefleet`);
  }
  assert.equal(notFoundHint('no device "d-7"', { kind: 'device', id: 'd-7' }), 'no device "d-7" (edgefleet devices ls lists them)');
  assert.equal(notFoundHint('no deployment 12', { kind: 'deployment', id: 12 }), 'no deployment 12 (edgefleet deployments ls lists them)');
  // Several asked for (a target's devices): the kind of the missing ones.
  assert.equal(notFoundHint('target: d-7, d-8 unknown', { kind: 'device', id: 'd-7', ids: ['d-7', 'd-8'] }), 'target: d-7, d-8 unknown (edgefleet devices ls lists them)');
});

test('a NOT_FOUND without a kind, or with a command already, is left as the hub wrote it', () => {
  const cases: Array<[message: string, details: unknown]> = [
    // A message that says where to look already.
    ['capture 12 not found (edgefleet capture ls, or GET /captures, lists the captures)', { kind: 'capture', id: 12 }],
    // Words that read as a device, without details (a hub before kinds): no guess from the message.
    ['no device "d-7"', undefined],
    // Details of another shape, or a kind this CLI does not know (a newer hub).
    ['no device "d-7"', { allow: 'GET' }],
    ['no gizmo "g-1"', { kind: 'gizmo', id: 'g-1' }],
    ['no device "d-7"', { kind: 'device' }],
    ['no device "d-7"', 'device'],
    ['no devices matched', null],
  ];
  for (const [message, details] of cases) assert.equal(notFoundHint(message, details), message, JSON.stringify(details));
});
