// The command the CLI adds to the hub's NOT_FOUND (not-found.ts): one for each kind of thing the hub's messages name,
// none where the message names a command already or is of another shape. Through a real hub: remote-deploy.test.ts,
// alerts.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notFoundHint } from './not-found.js';

test('a NOT_FOUND names the command that lists its kind of thing, once', () => {
  const cases: Array<[string, string]> = [
    ['no device "d-7"', 'no device "d-7" (edgefleet devices ls lists them)'],
    ['no rollout "ro-1a2b3c4d5e"', 'no rollout "ro-1a2b3c4d5e" (edgefleet rollout ls lists them)'],
    ['no deployment 12', 'no deployment 12 (edgefleet deployments ls lists them)'],
    ['no API token "t-1"', 'no API token "t-1" (edgefleet tokens ls lists them)'],
    ['no enrollment token "et-1"', 'no enrollment token "et-1" (edgefleet enroll-token ls lists them)'],
    ['no drift report 3', 'no drift report 3 (edgefleet drift-reports ls lists them)'],
    ['no alert rule 9', 'no alert rule 9 (edgefleet alerts rules ls lists them)'],
    ['no alert 9', 'no alert 9 (edgefleet alerts ls lists them)'],
    ['no model "m"', 'no model "m" (edgefleet model ls lists them)'],
    // A message that says where to look already, or of another shape, is left as the hub wrote it.
    ['no model version m 1.0.0: the registry has no model m (edgefleet model ls lists the models)', 'no model version m 1.0.0: the registry has no model m (edgefleet model ls lists the models)'],
    ['capture 12 not found (edgefleet capture ls, or GET /captures, lists the captures)', 'capture 12 not found (edgefleet capture ls, or GET /captures, lists the captures)'],
    ['no devices matched', 'no devices matched'],
  ];
  for (const [hub, shown] of cases) assert.equal(notFoundHint(hub), shown, hub);
});
