// The audit log with filters (actor, action, target, since), newest first; entries that match the
// filters arrive live from the stream. The filters live in the address (#/audit?actor=…&since=…), so a
// filtered log can be linked, reloaded and gone back to; since is a UTC date and time (docs/console.md).
// The hub is asked for the newest page (`order=desc`); when it says older entries exist (`next`), the
// table says so and "Show older" pages back with `before=next`.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { AuditEntry, AuditList } from '@edgefleet/shared';
import { AUDIT_ACTIONS } from '@edgefleet/shared/browser';
import { liveAudit, refetchTick, session, refetchAll } from '../store.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';
import { go } from '../nav.js';
import { Head } from '../ui/table.js';

type Filters = { actor: string; action: string; target: string; since: string };
const NONE: Filters = { actor: '', action: '', target: '', since: '' };
const KEYS = Object.keys(NONE) as Array<keyof Filters>;
/** The Since field's bounds (its value is a UTC wall time, `YYYY-MM-DDTHH:MM[:SS]`, as a datetime-local input holds it). */
const SINCE_MIN = '1970-01-01T00:00';
const SINCE_MAX = '9999-12-31T23:59:59';
const SINCE_EXPECTED = `expected a date and time in UTC between ${SINCE_MIN.replace('T', ' ')} and ${SINCE_MAX.replace('T', ' ')}, such as 2026-12-01 09:30`;
const UTC_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z$/;

/** The address's filters (`#/audit?…`; `#/audit/target/ID` is the target alone); `since` is kept as written, checked by sinceError. */
function filtersOf(query: string | undefined, target?: string): Filters {
  const q = new URLSearchParams(query ?? '');
  const f = { ...NONE };
  for (const k of KEYS) f[k] = q.get(k) ?? '';
  if (target) f.target = target;
  return f;
}

/** Why an address's `since` is not a UTC date and time the field can show (null: it is, or there is none). */
function sinceError(since: string): string | null {
  if (!since) return null;
  const t = Date.parse(since);
  const field = Number.isNaN(t) ? '' : fieldOf(since);
  return UTC_ISO.test(since) && field >= SINCE_MIN && field <= SINCE_MAX ? null : `since "${since}": ${SINCE_EXPECTED}`;
}
/** `2026-12-01T09:30:00.000Z` as the field holds it (`2026-12-01T09:30:00`), and back. */
const fieldOf = (iso: string) => (iso ? new Date(iso).toISOString().slice(0, 19) : '');
const isoOf = (field: string) => (field ? `${field.length === 16 ? `${field}:00` : field}Z` : '');
const hrefOf = (f: Filters) => {
  const q = new URLSearchParams();
  for (const k of KEYS) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return s ? `#/audit?${s}` : '#/audit';
};
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

/**
 * `query`: the address's filters (#/audit?actor=…&since=…); `target`: opened filtered by one target
 * (#/audit/target/{id}, the rollout page's "whole trail" link). The view is mounted afresh per address.
 */
export function AuditView({ target, query }: { target?: string; query?: string }) {
  const api = session.value?.api;
  const f = filtersOf(query, target);
  const badSince = sinceError(f.since);
  const [draft, setDraft] = useState<Filters>(badSince ? f : { ...f, since: fieldOf(f.since) });
  const [sinceProblem, setSinceProblem] = useState<string | null>(badSince);
  const sinceInput = useRef<HTMLInputElement>(null);
  const [loaded, setLoaded] = useState<Loaded | { error: string } | null>(null);
  const page = (before: number | null) => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    if (before !== null) q.set('before', String(before));
    return api!.get<AuditList>(`/audit?${q}`);
  };
  useEffect(() => {
    if (!api || badSince) return;
    setLoaded(null);
    page(null).then(
      (r) => setLoaded({ entries: r.entries, upTo: r.entries[0]?.id ?? 0, older: r.next }),
      (e: unknown) => setLoaded({ error: errorText(e) }),
    );
  }, [refetchTick.value]);
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
  }, [loaded, liveAudit.value]);
  const field = (k: keyof Filters, label: string, list?: string) => (
    <>
      <label for={`audit-${k}`}>{label}</label>
      <input id={`audit-${k}`} type="text" list={list} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value })} />
    </>
  );
  const submit = () => {
    // A datetime-local field half filled in (or out of its bounds) holds no value the page could send: say so.
    const el = sinceInput.current;
    if (el && !el.validity.valid) { setSinceProblem(`Since: ${SINCE_EXPECTED}, or nothing`); return; }
    setSinceProblem(null);
    go(hrefOf({ ...draft, since: isoOf(draft.since) }));
  };
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit log</h1>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); submit(); }} aria-label="Audit filters" noValidate>
        {field('actor', 'Actor')}{field('action', 'Action', 'audit-actions')}{field('target', 'Target')}
        <label for="audit-since">Since (UTC)</label>
        <input id="audit-since" ref={sinceInput} type="datetime-local" step={1} min={SINCE_MIN} max={SINCE_MAX} value={badSince && draft.since === f.since ? '' : draft.since}
          aria-invalid={sinceProblem ? 'true' : undefined} aria-describedby={sinceProblem ? 'audit-since-error' : undefined}
          onInput={(e) => setDraft({ ...draft, since: (e.currentTarget as HTMLInputElement).value })} />
        <datalist id="audit-actions">{AUDIT_ACTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => { setDraft(NONE); setSinceProblem(null); go('#/audit'); }}>Clear</button>
      </form>
      {sinceProblem ? <p class="field-error" role="alert" id="audit-since-error" data-testid="since-error">{sinceProblem}</p> : null}
      {badSince ? <Empty>Nothing is shown until Since holds a date and time.</Empty> : !loaded ? <Loading what="the audit log" /> : 'error' in loaded ? <ErrorBox error={loaded.error} retry={refetchAll} /> : rows.length === 0 ? <Empty>No entry matches.</Empty> : (
        <>
          <table class="plain" aria-label="Audit entries">
            <Head cols={['#', 'When', 'Actor', 'Action', 'Target', 'Reason']} />
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
