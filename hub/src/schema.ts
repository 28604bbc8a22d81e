// Every migration of hub.db, in one list the composition root (server/hub.ts, server/main.ts)
// passes to Store.open: the store's own (1-4) and each part's (ingest device clock offsets: 5; rollouts: 10; rollups: 20, drift: 21, alerts: 30, sealed models: 60; shadow candidates: 15). Versions
// never change, so a hub.db written by an earlier hub opens unchanged; a new part adds the next free version.
import type { Migration } from './store/migrations.js';
import { STORE_MIGRATIONS } from './store/migrations.js';
import { CLOCK_MIGRATION } from './ingest/clock-offset.js';
import { ROLLOUTS_MIGRATION } from './store/rollouts-repo.js';
import { ROLLUPS_MIGRATION } from './store/rollups-repo.js';
import { DRIFT_MIGRATION } from './drift/repo.js';
import { ALERTS_MIGRATION } from './alerts/repo.js';
import { SEALING_MIGRATION } from './sealing/repo.js';
import { SHADOWS_MIGRATION } from './store/shadows-repo.js';

export const HUB_MIGRATIONS: readonly Migration[] = [...STORE_MIGRATIONS, CLOCK_MIGRATION, ROLLOUTS_MIGRATION, ROLLUPS_MIGRATION, DRIFT_MIGRATION, ALERTS_MIGRATION, SEALING_MIGRATION, SHADOWS_MIGRATION];
