// What the operator CLI adds to the hub's NOT_FOUND: the command that lists what the id was looked for among. The
// hub's answer names the id it does not hold (`no device "d-7"`) but not where to find the right one; the CLI, which
// knows its own commands, says it (`hub: no device "d-7" (edgefleet devices ls lists them)`). Keyed by the thing
// the message names, not by the request: `deploy --devices d-7` is told of the devices, not of the deployments.

/** The hub's `no THING ...` messages and the command that lists the things. */
const LISTED_BY: ReadonlyArray<readonly [RegExp, string]> = [
  [/^no device "/, 'edgefleet devices ls'],
  [/^no rollout "/, 'edgefleet rollout ls'],
  [/^no deployment \d/, 'edgefleet deployments ls'],
  [/^no API token "/, 'edgefleet tokens ls'],
  [/^no enrollment token "/, 'edgefleet enroll-token ls'],
  [/^no drift report \d/, 'edgefleet drift-reports ls'],
  [/^no alert rule \d/, 'edgefleet alerts rules ls'],
  [/^no alert \d/, 'edgefleet alerts ls'],
  [/^no model "/, 'edgefleet model ls'],
];

/** `message` (the hub's NOT_FOUND) with the command that lists its kind of thing, unless it names a command already. */
export function notFoundHint(message: string): string {
  if (message.includes('edgefleet ')) return message;
  const listed = LISTED_BY.find(([re]) => re.test(message))?.[1];
  return listed ? `${message} (${listed} lists them)` : message;
}
