// Rollouts (docs/rollouts.md, docs/console.md): the rollouts newest first, a page at a time ("Show older"), with their state, model, version and
// current wave; one rollout's waves with live progress (devices told and active, the bake counting
// down), each gate's value against its threshold with its sample sizes and verdict, its devices and its
// audit trail. An operator creates one (#/rollouts/new) and promotes, pauses, resumes, aborts or rolls
// back with a reason; a viewer sees no write action. Refetched on the stream's `rollout` events.
import type { Rollout, RolloutList } from '@edgefleet/shared';
import { promoteWait } from '@edgefleet/shared/browser';
import { can, refetchTick, rolloutTick, session } from '../store.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';
import { OlderNote, usePaged } from '../ui/older.js';
import { inert } from '../ui/inert.js';
import { RolloutDetail } from './rollout-detail.js';
import { Head } from '../ui/table.js';

export type RolloutSummary = Omit<Rollout, 'devices'>;

export function targetText(t: Rollout['target']): string {
  if (t.all) return 'all devices';
  if (t.tags) return Object.entries(t.tags).map(([k, v]) => `${k}=${v}`).join(', ');
  return `${t.devices?.length ?? 0} device${t.devices?.length === 1 ? '' : 's'}: ${(t.devices ?? []).slice(0, 5).join(', ')}${(t.devices?.length ?? 0) > 5 ? ', …' : ''}`;
}

/** The state, and in its title why it is so (`why`: the hub's stateReason, say why a wave paused) where the list has no room for it. */
export function StatePill({ state, why }: { state: string; why?: string | null }) {
  return <span class={`pill ro-${state}`} data-testid="rollout-state" title={why ? inert(why) : undefined}>{state.replace('_', ' ')}</span>;
}

export function RolloutsView({ id }: { id?: string }) {
  const api = session.value?.api;
  // Newest first by (created, id), as the hub pages them (shared/src/wire/history-page.ts).
  const paged = usePaged<RolloutSummary, string>(async (before) => {
    const r = await api!.get<RolloutList>(`/rollouts${before === null ? '' : `?before=${encodeURIComponent(before)}`}`);
    return { rows: r.rollouts, next: r.next };
  }, (a, b) => a.created < b.created || (a.created === b.created && a.id < b.id), [rolloutTick.value, refetchTick.value]);
  const list = paged.list && 'rows' in paged.list ? paged.list.rows : paged.list;
  return (
    <section aria-labelledby="rollouts-h">
      <div class="h1row"><h1 id="rollouts-h">Rollouts</h1>{can('operator') ? <><a class="button" href="#/rollouts/new">New rollout</a> <a class="button" href="#/rollouts/new-config">New configuration rollout</a></> : null}</div>
      {!list ? <Loading what="rollouts" /> : 'error' in list ? <ErrorBox error={list.error} retry={paged.retry} /> : list.length === 0
        ? <Empty>No rollout yet.{can('operator') ? <> <a href="#/rollouts/new">Start one</a>, or </> : ' '}<code>edgefleet rollout create MODEL VERSION --all --reason "…"</code>.</Empty>
        : (
          <table class="plain selectable" aria-label="Rollouts">
            <Head cols={['Rollout', 'State', 'Subject', 'Version', 'Current wave', 'Target', 'Reason', 'By', 'Created']} />
            <tbody>{list.map((r) => {
              const w = r.waves[r.currentWave];
              return (
                <tr key={r.id} class={r.id === id ? 'selected' : ''} data-rollout={r.id}>
                  <td><a class="mono" href={`#/rollouts/${r.id}`}>{r.id}</a></td><td><StatePill state={r.state} why={r.stateReason} /></td><td class="mono">{r.config ? `config ${r.config.scope}` : r.model}</td>
                  <td class="mono">{r.config ? `v${r.config.fromVersion} → v${r.config.version}` : `${r.fromVersion ?? '—'} → ${r.version}`}</td>
                  <td>{w ? <>{w.name} <span class={`pill wv-${w.state}`}>{w.state}</span> <span class="muted">{r.currentWave + 1}/{r.waves.length}</span>{promoteWait(r) ? <span data-testid="waiting-promote">, waiting for promote</span> : null}</> : '—'}</td>
                  <td>{targetText(r.target)}</td><td>{r.reason}</td><td>{r.createdBy}</td><td>{time(r.created)}</td>
                </tr>
              );
            })}</tbody>
          </table>
        )}
      {paged.list && 'rows' in paged.list ? <OlderNote what="rollouts" next={paged.list.next} load={paged.showOlder} /> : null}
      {id ? <RolloutDetail key={id} id={id} /> : list && !('error' in list) && list.length ? <Empty>Select a rollout to see its waves, gates and audit trail.</Empty> : null}
    </section>
  );
}
