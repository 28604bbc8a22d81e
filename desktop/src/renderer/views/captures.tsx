// Data captures (docs/hub.md "Data capture"): the captures newest first, a page at a time ("Show older"), with their state, rows and bytes held; one
// capture's devices with their part's status, rows, chunks and reason; (operator) stop a running one and
// purge an ended one's sealed chunks, each with a reason. The rows are ciphertext on the hub: they are
// opened with the operators' private key by `edgefleet capture fetch`, never in this console.
import { hubNow } from '../hub-clock.js';
import type { Capture, CaptureList } from '@edgefleet/shared';
import { can, refetchTick, session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { targetText as target } from './rollouts.js';
import { Empty, ErrorBox, Loading, RefetchFailed, time } from '../ui/states.js';
import { useRefetched } from '../ui/refetched.js';
import { Age } from '../ui/age.js';
import { OlderNote, usePaged } from '../ui/older.js';
import { byId } from '../paging.js';
import { formatCount } from '@edgefleet/shared/browser';
import { inert } from '../ui/inert.js';
import { Head } from '../ui/table.js';

type Summary = Omit<Capture, 'devices'>;

/** The hub's state (docs/hub.md "Data capture"), an active capture shown as capturing. */
function stateOf(c: Summary): 'purged' | 'stopped' | 'ended' | 'capturing' {
  return c.state === 'active' ? 'capturing' : c.state;
}

/** Whether the hub still takes a stop (before `until`, not stopped); after it, a purge. */
function stoppable(c: Summary, now = hubNow()): boolean {
  return !c.stopped && !c.purged && Date.parse(c.until) > now;
}


export function CapturesView({ id }: { id?: string }) {
  const api = session.value?.api;
  const paged = usePaged<Summary, number>(async (before) => {
    const r = await api!.get<CaptureList>(`/captures${before === null ? '' : `?before=${before}`}`);
    return { rows: r.captures, next: r.next };
  }, byId, [refetchTick.value]);
  const list = paged.list && 'rows' in paged.list ? paged.list.rows : paged.list;
  return (
    <section aria-labelledby="cap-h">
      <h1 id="cap-h">Captures</h1>
      {list === null ? <Loading what="captures" /> : 'error' in list ? <ErrorBox error={`could not load captures: ${list.error}`} retry={paged.retry} /> : list.length === 0
        ? <Empty>No capture yet: <code>edgefleet capture start MODEL --tag KEY=VALUE --rate 0.1 --max-rows 1000 --reason "…"</code>.</Empty>
        : (
          <table class="plain selectable" aria-label="Captures">
            <Head cols={['#', 'Model', 'Target', 'State', 'Rows', 'Bytes held', 'Created', 'Reason']} />
            <tbody>{list.map((c) => (
              <tr key={c.id} class={String(c.id) === id ? 'selected' : ''} data-capture={c.id}>
                <td><a href={`#/captures/${c.id}`}>{c.id}</a></td><td class="mono">{c.model}{c.version ? `@${c.version}` : ''}</td><td>{target(c.target)}</td>
                <td><span class={`pill cap-${stateOf(c)}`}>{stateOf(c)}</span></td><td>{formatCount(c.rows)}</td><td>{formatCount(c.purged ? 0 : c.bytes)}</td><td>{time(c.created)}</td><td>{c.reason}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      {paged.list && 'rows' in paged.list ? <OlderNote what="captures" next={paged.list.next} load={paged.showOlder} /> : null}
      {id ? <CaptureDetail key={id} id={id} changed={(next) => { if (next) paged.patch((r) => (r.id === next.id ? { ...r, ...next } : r)); paged.retry(); }} /> : null}
    </section>
  );
}

function CaptureDetail({ id, changed }: { id: string; changed: (c: Capture | undefined) => void }) {
  const api = session.value?.api;
  // Read again when the stream reconnects: a read that fails keeps the capture shown (and a form open on it) under the error, with Retry.
  const loaded = useRefetched(() => api!.get<Capture>(`/captures/${encodeURIComponent(id)}`), [refetchTick.value], id);
  const c = loaded.value;
  if (!c) return loaded.error ? <RefetchFailed what={`capture ${id}`} r={loaded} /> : <Loading what={`capture ${id}`} />;
  const state = stateOf(c);
  const done = (next: Capture | undefined, what: string) => {
    if (next) loaded.set(next);
    changed(next);
    return what;
  };
  // Refused (another operator stopped or purged it: CONFLICT), the capture is read again so the page shows the hub's
  // state; the form stays open with the refusal and says why it no longer applies (ui/action.tsx `gone`).
  const act = (what: string, send: (reason: string) => Promise<Capture | undefined>) => async (reason: string) => {
    try {
      return done(await send(reason), what);
    } catch (err) {
      api?.get<Capture>(`/captures/${c.id}`).then((x) => done(x, ''), () => undefined);
      throw err;
    }
  };
  const by = (x: { at: string; by: string; reason: string }, what: string) => `capture ${c.id} was ${what} by ${x.by} at ${time(x.at)}: ${x.reason}`;
  const purged = c.purged ? by(c.purged, 'purged') : undefined;
  return (
    <div class="panel" data-testid="capture-detail">
      <RefetchFailed what={`capture ${id}`} r={loaded} />
      <h2>Capture {c.id}: <span class="mono">{c.model}{c.version ? `@${c.version}` : ''}</span> <span class={`pill cap-${state}`} data-testid="capture-state">{state}</span></h2>
      <dl class="stats">
        <dt>Target</dt><dd>{target(c.target)}</dd><dt>Rate</dt><dd>{c.rate}</dd><dt>Rows per device</dt><dd>at most {c.maxRows}</dd>
        <dt>Until</dt><dd>{time(c.until)}</dd><dt>Features</dt><dd>{c.features?.join(', ') ?? 'all'}</dd><dt>By</dt><dd>{c.createdBy}: {c.reason}</dd>
        {c.stopped ? <><dt>Stopped</dt><dd>{time(c.stopped.at)} by {c.stopped.by}: {c.stopped.reason}</dd></> : null}
        {c.purged ? <><dt>Purged</dt><dd data-testid="capture-purged">{time(c.purged.at)} by {c.purged.by}: {c.purged.reason} ({formatCount(c.purged.bytes)} bytes deleted)</dd></> : null}
      </dl>
      <p class="muted">{formatCount(c.rows)} rows in {formatCount(c.purged ? 0 : c.bytes)} bytes of ciphertext on the hub. Open them with the operators' key: <code>edgefleet capture fetch {c.id} --key FILE</code>{c.purged ? ' (purged: nothing left to fetch)' : ''}.</p>
      {can('operator') ? (
        // Both drawn whatever the state (closed, only the one that applies shows its button): an answer stays beside it,
        // an open form another operator's change took away says why (docs/decisions/0147-console-action-gone-under-open-form.md).
        <div class="actions row" aria-label="Capture actions">
          <ActionForm label="Stop capture" danger reasonRequired gone={stoppable(c) ? undefined : purged ?? (c.stopped ? by(c.stopped, 'stopped') : `capture ${c.id} ended at ${time(c.until)}`)}
            run={act('stopped', (reason) => api!.send<Capture>('DELETE', `/captures/${c.id}?reason=${encodeURIComponent(reason)}`))} />
          <ActionForm label="Purge chunks" danger reasonRequired gone={stoppable(c) ? `capture ${c.id} is still capturing: stop it first` : purged}
            run={act('purged', (reason) => api!.send<Capture>('POST', `/captures/${c.id}/purge`, { reason }))} />
        </div>
      ) : null}
      <table class="plain" aria-label="Capture devices"><Head cols={['Device', 'Status', 'Rows', 'Chunks', 'Bytes', 'Reason', 'Updated']} />
        <tbody>{c.devices.map((d) => (
          <tr key={d.deviceId}><td><a class="mono" href={`#/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a></td><td><span class={`pill st-${d.status}`}>{d.status}</span></td>
            <td>{formatCount(d.rows)}</td><td>{formatCount(d.chunks)}</td><td>{formatCount(d.bytes)}</td><td>{inert(d.reason ?? '')}</td><td><Age at={d.updated} /></td></tr>
        ))}</tbody></table>
    </div>
  );
}
