// Staged rollouts over REST, served by the rollout engine (hub/src/rollouts/, docs/rollouts.md): create
// with waves and gates (and preview which devices each wave would take), list, show with per-wave gate
// results and devices, and the operator actions, each with a reason.
import { AppError, ConfigRolloutCreate, Rollout, RolloutAction, RolloutCreate, RolloutList, RolloutListQuery, RolloutPreview, RolloutPreviewRequest, RolloutPromote, RolloutUnaccept, RolloutViewQuery, NotInstalledPage, NotInstalledQuery } from '@edgefleet/shared';
import type { RolloutEngine } from '../rollouts/engine.js';
import type { RolloutActionName } from '../rollouts/actions.js';
import { actor, jsonBody, param, queryOf, type ApiDeps, type Ctx, type RouteDef } from './http.js';

function engine(deps: ApiDeps): RolloutEngine {
  if (!deps.rollouts) throw new AppError('NOT_READY', 'the rollout engine is not running on this hub');
  return deps.rollouts;
}

/** The acting token as the engine records it (name and id). */
function by(c: Ctx): { name: string; id: string } {
  const { name, id } = actor(c);
  return { name, id };
}

const ACTIONS: Array<[RolloutActionName, string]> = [
  ['promote', 'Skip the rest of the current wave\'s bake (its gates still judge), or move a passed wave on under manual advance; with acceptGates, accept those blocking gates of the current wave (pending, or failed on a paused rollout): they no longer block it, and it is judged again (GATE_NOT_ACCEPTABLE names the gates that may be); with full: true, once the current wave passes the last wave opens at once, the waves between skipped'],
  ['unaccept', 'Take back acceptances of the current wave\'s gates {reason, gates} while the wave is still judged: they block it again, judged at once (NOTHING_TO_UNDO when a gate is not accepted there or the wave is no longer judged)'],
  ['pause', 'Pause a running rollout: no more devices are told to switch, no wave moves'],
  ['resume', 'Resume a paused rollout; a failed or stuck wave is judged again'],
  ['abort', 'Stop a rollout: devices not told never start; told ones keep what they were told (one not switched yet still switches when it can; rollback sends them back)'],
  ['rollback', 'Give every device the rollout switched a desired document naming the version it ran before'],
];

export const rolloutRoutes: RouteDef[] = [
  {
    method: 'post', path: '/rollouts', access: 'operator', status: 201,
    summary: 'Start a staged rollout of a model version over a target (waves, gates, advance auto|manual, onFailure rollback|pause, reason)',
    body: RolloutCreate, response: Rollout,
    async handler(c, deps) {
      const b = await jsonBody(c, RolloutCreate, 'rollout request');
      const r = await engine(deps).create(b, by(c));
      return engine(deps).view(r.id);
    },
  },
  {
    method: 'post', path: '/rollouts/config', access: 'operator', status: 201,
    summary: 'Roll a new version of an agent configuration document (scope fleet, tag/K=V or device/ID) through waves and gates; devices not yet told keep the previous version; a failed gate writes the previous document back',
    body: ConfigRolloutCreate, response: Rollout,
    async handler(c, deps) {
      const b = await jsonBody(c, ConfigRolloutCreate, 'configuration rollout request');
      const r = await engine(deps).createConfig(b, by(c));
      return engine(deps).view(r.id);
    },
  },
  {
    method: 'post', path: '/rollouts/preview', access: 'operator',
    summary: 'Which devices each wave of a rollout request would take (same body as create, reason optional; nothing stored): create with the answered id to get exactly these waves',
    body: RolloutPreviewRequest, response: RolloutPreview,
    async handler(c, deps) {
      const b = await jsonBody(c, RolloutPreviewRequest, 'rollout preview request');
      return engine(deps).preview(b, by(c));
    },
  },
  {
    method: 'get', path: '/rollouts', access: 'viewer', query: RolloutListQuery, response: RolloutList,
    summary: 'Rollouts a page at a time, newest first (?limit=, default 100, at most 1000), with their waves and gate results; `next` (CREATED,ID) is the ?before= of the older page, null after the last',
    async handler(c, deps) {
      return engine(deps).list(queryOf(c, RolloutListQuery, 'rollouts query'));
    },
  },
  {
    method: 'get', path: '/rollouts/:id', access: 'viewer',
    summary: 'One rollout: state, waves with devices and each gate\'s value, threshold, samples and verdict, and every device\'s place and status (?devices=N: the first N by place, with devicesTotal)',
    query: RolloutViewQuery, response: Rollout,
    async handler(c, deps) {
      const q = queryOf(c, RolloutViewQuery, 'rollout query');
      return engine(deps).view(param(c, 'id'), true, q.devices);
    },
  },
  {
    method: 'get', path: '/rollouts/:id/not-installed', access: 'viewer', query: NotInstalledQuery, response: NotInstalledPage,
    summary: 'Every told device of the wave that failed that did not install its version (status, reason), a page at a time by place (?limit=, default 100, at most 1000; ?after= the previous page\'s `next`); empty when no wave failed so',
    async handler(c, deps) {
      const q = queryOf(c, NotInstalledQuery, 'not-installed query');
      const id = param(c, 'id');
      deps.store.rollouts.get(id); // 404 for an unknown rollout
      return deps.store.rollouts.notInstalledPage(id, q.after, q.limit ?? 100);
    },
  },
  ...ACTIONS.map(([name, summary]): RouteDef => ({
    method: 'post', path: `/rollouts/:id/${name}`, access: 'operator', summary, body: name === 'promote' ? RolloutPromote : name === 'unaccept' ? RolloutUnaccept : RolloutAction, response: Rollout,
    async handler(c, deps) {
      const b: RolloutPromote & Partial<RolloutUnaccept> = name === 'promote' ? await jsonBody(c, RolloutPromote, 'promote request')
        : name === 'unaccept' ? await jsonBody(c, RolloutUnaccept, 'unaccept request') : await jsonBody(c, RolloutAction, `${name} request`);
      const r = await engine(deps).act(param(c, 'id'), name, b.reason, by(c), { acceptGates: b.acceptGates, full: b.full, gates: b.gates });
      return engine(deps).view(r.id);
    },
  })),
];
