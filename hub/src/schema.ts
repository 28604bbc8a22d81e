// Every migration of hub.db, in one list the composition root (server/hub.ts, server/main.ts)
// passes to Store.open: the store's own (1-4) and each part's (ingest device clock offsets: 5, clock marks: 6, stored bytes per device: 7, versions each device ever reported: 8, enrollment token revocation: 9; rollouts: 10; maintenance windows: 13-14; shadow candidates: 15; rollups: 20, drift: 21, rollups' accuracy: 22, rollup horizon: 23, alerts: 30-32, alert acknowledgements: 83, backends a model version loads on: 86, data capture: 40-41, sealed models: 60; agent configuration: 70; the hub lease of several hubs: 80, rollout revisions: 81, a lease held by a hub without cluster: 82; device search text by trigrams: 89; configuration rollouts: 90, shadow replays: 91; targets of no tags rewritten as every device: 92; undeployed deployments and removals: 93; telemetry windows parked until their version is in the registry: 96; device tags indexed: 97; parked windows by age: 98; devices replaced by a new enrollment of their box: 101; audit entries by target: 103). Versions
// never change, so a hub.db written by an earlier hub opens unchanged; a new part adds the next free version.
import type { Migration } from './store/migrations.js';
import { STORE_MIGRATIONS } from './store/migrations.js';
import { CLOCK_MIGRATION } from './ingest/clock-offset.js';
import { CLOCK_MARKS_MIGRATION } from './ingest/clock-marks-repo.js';
import { STORED_BYTES_MIGRATION } from './store/stored-bytes.js';
import { DEVICE_VERSIONS_SEEN_MIGRATION } from './store/device-reports.js';
import { DEVICE_TAGS_MIGRATION } from './store/device-tags.js';
import { DEVICE_SEARCH_MIGRATION } from './store/device-search.js';
import { ENROLLMENT_REVOKE_MIGRATION } from './store/enrollment-repo.js';
import { ROLLOUTS_MIGRATION, ROLLOUT_CONFIG_MIGRATION, ROLLOUT_REVISION_MIGRATION, ROLLOUT_STATE_BY_MIGRATION, ROLLOUT_WINDOW_MIGRATION } from './store/rollouts-migrations.js';
import { ROLLOUT_NOT_INSTALLED_MIGRATION } from './store/rollout-not-installed.js';
import { DEPLOYMENT_WINDOW_MIGRATION, EMPTY_TAGS_TARGET_MIGRATION, ROLLOUT_BY_DEPLOYMENT_MIGRATION } from './store/deployments-migrations.js';
import { ROLLUPS_MIGRATION, ROLLUPS_PERF_MIGRATION, ROLLUPS_SPAN_MIGRATION, ROLLUPS_ACTIVE_MIGRATION } from './store/rollups-migrations.js';
import { ROLLUP_HORIZON_MIGRATION } from './rollups/expiry.js';
import { DRIFT_MIGRATION, DRIFT_REPORT_INSUFFICIENT_MIGRATION, DRIFT_REPORT_LEFT_OUT_MIGRATION } from './drift/repo.js';
import { ALERTS_MIGRATION } from './alerts/migrations.js';
import { ALERTS_ACK_MIGRATION, ALERTS_HISTORY_MIGRATION, ALERTS_HOLD_MIGRATION, ALERTS_PENDING_MIGRATION } from './alerts/migrations.js';
import { SEALING_MIGRATION } from './sealing/repo.js';
import { CAPTURE_MIGRATION, CAPTURE_PURGE_MIGRATION } from './capture/repo.js';
import { CONFIG_MIGRATION } from './config/repo.js';
import { SHADOWS_MIGRATION, SHADOW_REPLAY_MIGRATION } from './store/shadows-repo.js';
import { LEASE_MIGRATION, LEASE_SOLE_MIGRATION } from './cluster/lease-repo.js';
import { MODEL_BACKENDS_MIGRATION } from './store/models-repo.js';
import { BUNDLE_DROP_MIGRATION } from './store/bundle-drop.js';
import { BACKEND_MISMATCH_MIGRATION, ROLLOUT_BACKEND_MISMATCH_MIGRATION } from './deployments/backends.js';
import { UNDEPLOY_MIGRATION } from './store/removals-repo.js';
import { PARKED_AGE_MIGRATION, PARKED_WINDOWS_MIGRATION } from './store/parked-repo.js';
import { DEVICE_REPLACEMENTS_MIGRATION } from './store/device-replacements.js';
import { AUDIT_TARGET_MIGRATION } from './store/audit-repo.js';

export const HUB_MIGRATIONS: readonly Migration[] = [...STORE_MIGRATIONS, CLOCK_MIGRATION, CLOCK_MARKS_MIGRATION, STORED_BYTES_MIGRATION, DEVICE_VERSIONS_SEEN_MIGRATION, ENROLLMENT_REVOKE_MIGRATION, ROLLOUTS_MIGRATION, ROLLUPS_MIGRATION, DRIFT_MIGRATION, ROLLUPS_PERF_MIGRATION, ROLLUP_HORIZON_MIGRATION, DRIFT_REPORT_INSUFFICIENT_MIGRATION, ALERTS_MIGRATION, ALERTS_HOLD_MIGRATION, ALERTS_HISTORY_MIGRATION, SEALING_MIGRATION, CAPTURE_MIGRATION, CAPTURE_PURGE_MIGRATION, CONFIG_MIGRATION, DEPLOYMENT_WINDOW_MIGRATION, ROLLOUT_WINDOW_MIGRATION, SHADOWS_MIGRATION, LEASE_MIGRATION, ROLLOUT_REVISION_MIGRATION, LEASE_SOLE_MIGRATION, ALERTS_ACK_MIGRATION, ROLLOUT_CONFIG_MIGRATION, SHADOW_REPLAY_MIGRATION, EMPTY_TAGS_TARGET_MIGRATION, UNDEPLOY_MIGRATION, ROLLOUT_BY_DEPLOYMENT_MIGRATION, ROLLOUT_STATE_BY_MIGRATION, PARKED_WINDOWS_MIGRATION, DEVICE_TAGS_MIGRATION, PARKED_AGE_MIGRATION, DEVICE_SEARCH_MIGRATION, DRIFT_REPORT_LEFT_OUT_MIGRATION, ROLLUPS_SPAN_MIGRATION, MODEL_BACKENDS_MIGRATION, BACKEND_MISMATCH_MIGRATION, ROLLOUT_NOT_INSTALLED_MIGRATION, ROLLUPS_ACTIVE_MIGRATION, BUNDLE_DROP_MIGRATION, ROLLOUT_BACKEND_MISMATCH_MIGRATION, ALERTS_PENDING_MIGRATION, DEVICE_REPLACEMENTS_MIGRATION, AUDIT_TARGET_MIGRATION];
