// hub.db's deployments tables as migrations grew them after the first (docs/hub.md): the rows are read and
// written by deployments-repo.ts.
import type { Migration } from './migrations.js';

/** hub.db migration 13: a deployment's maintenance window, signed into its devices' desired documents (docs/rollouts.md). */
export const DEPLOYMENT_WINDOW_MIGRATION: Migration = {
  version: 13,
  name: 'maintenance window of a deployment',
  sql: 'ALTER TABLE deployments ADD COLUMN maintenance TEXT;',
};

/**
 * hub.db migration 92: a target of no tags (`{"tags":{}}`, which matched every device) stored before such a
 * target was refused is rewritten as what it meant, `{"all":true}`, in deployments, rollouts and captures.
 */
export const EMPTY_TAGS_TARGET_MIGRATION: Migration = {
  version: 92,
  name: 'targets of no tags are every device',
  sql: `UPDATE deployments SET target = '{"all":true}' WHERE target = '{"tags":{}}';
    UPDATE rollouts SET target = '{"all":true}' WHERE target = '{"tags":{}}';
    UPDATE captures SET target = '{"all":true}' WHERE target = '{"tags":{}}';`,
};

/**
 * hub.db migration 94: rollouts by the deployment they grow, so a page of deployments names each one's
 * rollout (WITH_ROLLOUT) and history retention finds a deployment's rollouts without reading them all.
 */
export const ROLLOUT_BY_DEPLOYMENT_MIGRATION: Migration = {
  version: 94,
  name: 'rollouts by deployment',
  sql: 'CREATE INDEX rollouts_by_deployment ON rollouts(deployment_id);',
};
