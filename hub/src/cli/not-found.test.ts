// The command the CLI adds to the hub's NOT_FOUND (not-found.ts): chosen by the kind in the answer's details, one
// for each kind that has a list; none where the message names a command already, the kind has no list, or the
// details name no kind. Through a real hub: remote-deploy.test.ts, alerts.test.ts; the hub's kinds:
// hub/src/api/not-found-kinds.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundKind } from '@edgefleet/shared';
import { notFoundHint } from './not-found.js';

test('a NOT_FOUND names the command that lists the kind its details name, once', () => {
  const listed: Record<NotFoundKind, string | null> = {
    device: 'edgefleet devices ls',
    rollout: 'edgefleet rollout ls',
    deployment: 'edgefleet deployments ls',
    token: 'edgefleet tokens ls',
    enrollment_token: 'edgefleet enroll-token ls',
    drift_report: 'edgefleet drift-reports ls',
    alert_rule: 'edgefleet alerts rules ls',
    alert: 'edgefleet alerts ls',
    model: 'edgefleet model ls',
    model_version: 'edgefleet model ls',
    capture: 'edgefleet capture ls',
    config_version: null,
    capture_chunks: null,
    blob: null,
    route: null,
  };
  // The message's words play no part: the same words under each kind get that kind's command.
  for (const kind of NotFoundKind.options) {
    const hint = listed[kind];
    assert.equal(notFoundHint('not here: x', { kind, id: 'x' }), hint ? `not here: x (${hint} lists them)` : 'not here: x', kind);
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
