// The order scripts/test.mjs starts test files in: with two files at a time, a long file started
// last leaves one core idle while it finishes, so the longest files go first (longest processing
// time first) and the rest follow in path order. The list is measured, longest first
// (TEST_DURATIONS=FILE node scripts/test.mjs; docs/development.md "Test run time"); a file missing
// from it only starts later, and a listed file that no longer exists is ignored.
// Measured 2026-12-02 23:07 (TEST_DURATIONS, the files' tests added up) on the quiet 2-core VM, the
// tests' programs started built (a whole run of 16 min, one of its two slots held 5 min by a file that
// hung on a bug since fixed); the two two-hub scenarios (their tests live in two-hubs-scenario.ts) at
// half of that file's 39 s each.
export const SLOW_FIRST = [
  'test/src/scenarios/example-loop.test.ts',
  'test/src/fleet/start.test.ts',
  'test/src/scenarios/package-arm64.test.ts',
  'test/src/scenarios/rollout.test.ts',
  'test/src/scenarios/config-rollout.test.ts',
  'test/src/scenarios/shutdown.test.ts',
  'test/src/cli/convention.test.ts',
  'test/src/console/rollouts.test.ts',
  'test/src/scenarios/hub-restart-upload.test.ts',
  'hub/src/cli/model.test.ts',
  'test/src/scenarios/sealed-models.test.ts',
  'test/src/scenarios/data-capture.test.ts',
  'test/src/scenarios/two-hubs.test.ts',
  'agent/src/sync/e2e.test.ts',
  'test/src/scenarios/two-hubs-postgres.test.ts',
  'test/src/scenarios/remote-config.test.ts',
  'test/src/scenarios/replay-gate.test.ts',
  'test/src/scenarios/package-agent.test.ts',
  'test/src/scenarios/readme.test.ts',
  'agent/src/cli/cli.test.ts',
  'hub/src/cli/commands/remote-deploy.test.ts',
  'agent/src/summaries/crash.test.ts',
  'test/src/scenarios/stolen-hub-key.test.ts',
  'test/src/scenarios/shadow-rollout.test.ts',
  'test/src/console/console.test.ts',
  'test/src/scenarios/refusals.test.ts',
  'hub/src/cli/trust.test.ts',
  'agent/src/api/sigterm.test.ts',
  'test/src/scenarios/flaky-link.test.ts',
  'test/src/scenarios/postgres-hub.test.ts',
  'test/src/scenarios/offline-week.test.ts',
  'agent/src/policy/guard.test.ts',
  'test/src/scenarios/backup-restore.test.ts',
  'hub/src/cli/model-samples.test.ts',
  'test/src/console/try-it.test.ts',
  'hub/src/cli/commands/remote.test.ts',
  'agent/src/shadow/shadow.test.ts',
  'test/src/console/drift-alerts.test.ts',
  'test/src/scenarios/kill-during-download.test.ts',
  'hub/src/api/stream.test.ts',
  'hub/src/cli/commands/retrain.test.ts',
  'test/src/console/desktop.test.ts',
  'test/src/fleet/stop.test.ts',
  'test/src/scenarios/drift-known-answers.test.ts',
  'test/src/scenarios/wrong-clock.test.ts',
  'test/src/scenarios/policy-rollback.test.ts',
  'hub/src/server/main.test.ts',
  'test/src/scenarios/model-samples.test.ts',
];

/** `files` (paths relative to the repo root) with SLOW_FIRST's files first, in its order, then the rest sorted. */
export function orderTestFiles(files) {
  const rank = new Map(SLOW_FIRST.map((f, i) => [f, i]));
  const at = (f) => rank.get(f) ?? SLOW_FIRST.length;
  return [...files].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
}
