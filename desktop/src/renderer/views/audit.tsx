// The audit log with filters (actor, action, target, since), newest first; entries that match the
// filters arrive live from the stream. The hub is asked for the newest page (`order=desc`); when it says
// older entries exist (`next`), the table says so and "Show older" pages back with `before=next`.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { AuditEntry, AuditList } from '@edgefleet/shared';
import { AUDIT_ACTIONS } from '@edgefleet/shared/browser';
import { liveAudit, refetchTick, session, refetchAll } from '../store.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';

type Filters = { actor: string; action: string; target: string; since: string };
const NONE: Filters = { actor: '', action: '', target: '', since: '' };
/** Entries a page: the newest page first, then one more per "Show older". */
const PAGE = 500;

/** Where an entry's target opens in the console, by its action's family (a device's id, a rollout's, a model version's `name@version`, `capture N`); null: nowhere. */
function targetHref(action: string, target: string): string | null {
  const family = action.slice(0, action.indexOf('.'));
  const version = /^([^@\s]+)@([^@\s]+)$/.exec(target);
  const capture = /^capture (\d+)$/.exec(target);
  if (family === 'device') return `#/devices/${encodeURIComponent(target)}`;
  if (family === 'rollout' && /^ro-[0-9a-f]+$/.test(target)) return `#/rollouts/${target}`;
  if (family === 'capture' && capture) return `#/captures/${capture[1]!}`;
  if ((family === 'model' || family === 'deployment') && version) return `#/models/${encodeURIComponent(version[1]!)}/${encodeURIComponent(version[2]!)}`;
  return null;
}

function Target({ e }: { e: AuditEntry }) {
  const href = targetHref(e.action, e.target);
  return href ? <a href={href}>{e.target}</a> : <>{e.target}</>;
}

function matches(e: AuditEntry, f: Filters): boolean {
  return (!f.actor || e.actor === f.actor) && (!f.action || e.action === f.action) && (!f.target || e.target === f.target) && (!f.since || Date.parse(e.at) >= Date.parse(f.since));
}

type Loaded = { entries: AuditEntry[]; upTo: number; older: number | null; loadingOlder?: boolean; olderError?: string };

/** `target`: opened filtered by one target (#/audit/target/{id}, the rollout page's "whole trail" link). */
export function AuditView({ target }: { target?: string } = {}) {
  const api = session.value?.api;
  const start = target ? { ...NONE, target } : NONE;
  const [draft, setDraft] = useState<Filters>(start);
  const [f, setF] = useState<Filters>(start);
  useEffect(() => { setDraft(start); setF(start); }, [target]);
  const [loaded, setLoaded] = useState<Loaded | { error: string } | null>(null);
  const page = (before: number | null) => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    if (before !== null) q.set('before', String(before));
    return api!.get<AuditList>(`/audit?${q}`);
  };
  useEffect(() => {
    if (!api) return;
    setLoaded(null);
    page(null).then(
      (r) => setLoaded({ entries: r.entries, upTo: r.entries[0]?.id ?? 0, older: r.next }),
      (e: unknown) => setLoaded({ error: errorText(e) }),
    );
  }, [f, refetchTick.value]);
  const showOlder = (l: Loaded) => {
    if (l.older === null) return;
    setLoaded({ ...l, loadingOlder: true });
    page(l.older).then(
      (r) => setLoaded({ ...l, entries: [...l.entries, ...r.entries], older: r.next }),
      (e: unknown) => setLoaded({ ...l, olderError: errorText(e) }),
    );
  };
  const rows = useMemo(() => {
    if (!loaded || 'error' in loaded) return [];
    const live = liveAudit.value.filter((e) => e.id > loaded.upTo && matches(e, f));
    return [...live.reverse(), ...loaded.entries];
  }, [loaded, liveAudit.value, f]);
  const field = (k: keyof Filters, label: string, placeholder = '', list?: string) => (
    <>
      <label for={`audit-${k}`}>{label}</label>
      <input id={`audit-${k}`} type="text" list={list} placeholder={placeholder} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value })} />
    </>
  );
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit log</h1>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setF(draft); }} aria-label="Audit filters">
        {field('actor', 'Actor')}{field('action', 'Action', '', 'audit-actions')}{field('target', 'Target')}{field('since', 'Since', '2026-12-01T00:00Z')}
        <datalist id="audit-actions">{AUDIT_ACTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => { setDraft(NONE); setF(NONE); }}>Clear</button>
      </form>
      {!loaded ? <Loading what="the audit log" /> : 'error' in loaded ? <ErrorBox error={loaded.error} retry={refetchAll} /> : rows.length === 0 ? <Empty>No entry matches.</Empty> : (
        <>
          <table class="plain" aria-label="Audit entries">
            <thead><tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Reason</th></tr></thead>
            <tbody>{rows.map((e) => (
              <tr key={e.id}><td>{e.id}</td><td>{time(e.at)}</td><td>{e.actor}</td><td class="mono">{e.action}</td><td class="mono"><Target e={e} /></td><td>{e.reason ?? ''}</td></tr>
            ))}</tbody>
          </table>
          {loaded.older === null ? null : (
            <p class="muted" role="status" aria-label="Older entries">
              Entries older than #{loaded.older} are not shown.{' '}
              <button type="button" disabled={loaded.loadingOlder === true && !loaded.olderError} onClick={() => showOlder(loaded)}>Show older</button>
              {loaded.olderError ? <> Could not load them: {loaded.olderError}</> : null}
            </p>
          )}
        </>
      )}
    </section>
  );
}
