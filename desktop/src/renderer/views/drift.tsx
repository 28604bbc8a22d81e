// Drift of a model version (docs/drift.md, docs/console.md): the PSI heat map (feature × hour, from
// the drift route's timeline), the selected feature's statistics and PSI per hour, the groups (all
// devices, or one per value of a tag with `by=tag:KEY`) with their verdicts or "too few predictions",
// a device left out of a group's statistics for holding more than half of it (decision 0139), the worst devices, the accuracy per group (drift-accuracy.tsx), and the stored drift reports (an operator stores a new one with a note;
// one opened shows its groups and how many devices it left out).
import { hubNow } from '../hub-clock.js';
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { z } from 'zod';
import type { DriftReport, DriftReportList as DriftReportListSchema, DriftResponse, FeatureDrift } from '@edgefleet/shared';
import { can, loadModels, models, refetchTick, session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { Deprecated, Empty, ErrorBox, Loading, RefetchFailed, time } from '../ui/states.js';
import { useRefetched } from '../ui/refetched.js';
import { MissingBox, missingOf, type Missing } from '../ui/missing.js';
import { go } from '../nav.js';
import { background } from '../background.js';
import { HeatMap, Histogram, PsiBars } from './drift-heatmap.js';
import { ModelsLoad } from './model-state.js';
import { AccuracyPanel } from './drift-accuracy.js';
import { formatCount } from '@edgefleet/shared/browser';
import { Head } from '../ui/table.js';

const RANGES: Array<[string, number]> = [['6 hours', 6], ['24 hours', 24], ['3 days', 72], ['7 days', 168]];
const fmt = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
const enc = encodeURIComponent;
type DriftReportList = z.infer<typeof DriftReportListSchema>;

/** The version last shown: the menu entry (and key 6) returns to it. */
let last: string | null = null;

export function DriftView({ name, version }: { name?: string; version?: string }) {
  const list = models.value;
  useEffect(() => { if (list === null) background(loadModels()); }, []);
  useEffect(() => {
    if (name && version) last = `#/drift/${enc(name)}/${enc(version)}`;
    else if (last) go(last);
  }, [name, version]);
  return (
    <section aria-labelledby="drift-h">
      <h1 id="drift-h">Drift</h1>
      <ModelsLoad />
      {!Array.isArray(list) ? null : list.length === 0 ? <Empty>No model in the registry yet.</Empty> : (
        <div class="toolbar">
          <label for="drift-version">Model version</label>
          <select id="drift-version" value={name && version ? `${name}@${version}` : ''}
            onChange={(e) => { const [n, v] = (e.currentTarget as HTMLSelectElement).value.split('@'); if (n && v) go(`#/drift/${enc(n)}/${enc(v)}`); }}>
            <option value="">choose…</option>
            {list.map((m) => <option key={m.name + m.version} value={`${m.name}@${m.version}`}>{m.name}@{m.version}</option>)}
          </select>
        </div>
      )}
      {name && version ? <VersionDrift key={`${name}@${version}`} name={name} version={version} /> : Array.isArray(list) && list.length ? <Empty>Choose a model version to see its drift.</Empty> : null}
    </section>
  );
}

function VersionDrift({ name, version }: { name: string; version: string }) {
  const api = session.value?.api;
  const [hours, setHours] = useState(24);
  const [byDraft, setByDraft] = useState('');
  const [by, setBy] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [reportsTick, setReportsTick] = useState(0);
  const query = () => {
    const until = new Date(Math.ceil(hubNow() / 3600_000) * 3600_000); // by the hub's clock, not this computer's
    const q = new URLSearchParams({ since: new Date(until.getTime() - hours * 3600_000).toISOString(), until: until.toISOString() });
    if (by) q.set('by', by);
    return q;
  };
  // Read again when the stream reconnects: a read that fails keeps the charts shown under "could not refresh …" with
  // Retry (ui/refetched.ts); another range or grouping drops them until its answer is in.
  const d = useRefetched(() => api!.get<DriftResponse>(`/models/${enc(name)}/versions/${enc(version)}/drift?${query()}`)
    .then((x) => { setSelected((s) => s ?? firstFlagged(x)); return x; }), [refetchTick.value], `${hours} ${by}`);
  const r = d.value;
  if (d.missing) return <MissingBox m={d.missing} />; // the version is not in the registry: nothing else to show of it
  const all = r ? r.groups : [];
  const feature = selected && r ? findFeature(r, selected) : null;
  return (
    <>
      <form class="toolbar" aria-label="Drift range and grouping" onSubmit={(e) => { e.preventDefault(); setBy(byDraft.trim()); }}>
        <label for="drift-range">Range</label>
        <select id="drift-range" value={String(hours)} onChange={(e) => setHours(Number((e.currentTarget as HTMLSelectElement).value))}>
          {RANGES.map(([l, h]) => <option key={h} value={String(h)}>last {l}</option>)}
        </select>
        <label for="drift-by">Group by</label>
        <input id="drift-by" type="text" placeholder="tag:site or device" value={byDraft} onInput={(e) => setByDraft((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">Apply</button>
      </form>
      {can('operator') ? (
        <div class="actions">
          <ActionForm label="Store report" field="Note" run={async (note) => {
            const q = query();
            const rep = await api?.send<{ id: number }>('POST', '/drift-reports', { model: name, version, since: q.get('since'), until: q.get('until'), ...(by ? { by } : {}), ...(note ? { note } : {}) });
            setReportsTick((n) => n + 1);
            return `stored report ${rep?.id ?? ''}`;
          }} />
        </div>
      ) : null}
      <RefetchFailed what={`the drift of ${name}@${version}`} r={d} />
      {!r ? (d.error ? null : <Loading what="drift" />) : (
        <>
          <p class="muted">{time(r.since)} – {time(r.until)}; baseline {r.baseline.kind === 'reference' ? (r.baseline.id ? `the manifest's reference (${r.baseline.id})` : 'none: this version\'s manifest has no reference, so nothing is judged (compare with a period of its own traffic: edgefleet drift --baseline)') : `${time(r.baseline.since)} – ${time(r.baseline.until)}`};
            thresholds PSI {r.thresholds.psi}, JS {r.thresholds.js}, at least {formatCount(r.thresholds.minPredictions)} predictions.</p>
          {r.deprecated ? <Deprecated at={r.deprecated.at} reason={r.deprecated.reason} testid="drift-deprecated" /> : null}
          <div class="panel" data-testid="drift-heatmap">
            <h2>PSI per feature per hour (all devices)</h2>
            {r.timeline ? <HeatMap timeline={r.timeline} threshold={r.thresholds.psi} selected={selected} onSelect={setSelected} /> : <Empty>No timeline.</Empty>}
          </div>
          {selected ? (
            <div class="panel" data-testid="drift-feature">
              <h2>Feature <span class="mono">{selected}</span>{all.length > 1 ? <> in group <span class="mono">{(all.find((g) => g.drifted) ?? all[0])?.key}</span></> : null}</h2>
              {feature ? <FeatureStats f={feature} /> : <p class="muted">Not compared in the first group (too few predictions).</p>}
              {feature?.bins ? <Histogram {...feature.bins} /> : null}
              {r.timeline?.psi[selected] ? <PsiBars values={r.timeline.psi[selected] ?? []} starts={r.timeline.starts} threshold={r.thresholds.psi} /> : null}
            </div>
          ) : null}
          <Groups groups={all} noReference={r.baseline.kind === 'reference' && r.baseline.id === null} />
          <AccuracyPanel name={name} version={version} query={metricsQuery(query())} />
        </>
      )}
      <Reports name={name} version={version} tick={reportsTick} />
    </>
  );
}

/** The metrics route takes the drift query's range and grouping (not its baseline or timeline). */
function metricsQuery(q: URLSearchParams): string {
  const m = new URLSearchParams();
  for (const k of ['since', 'until', 'by']) if (q.get(k)) m.set(k, q.get(k) as string);
  return m.toString();
}

function firstFlagged(r: DriftResponse): string | null {
  const g = r.groups.find((x) => x.drifted) ?? r.groups[0];
  return [...(g?.features ?? []), ...(g?.outputs ?? [])].find((f) => f.drifted)?.name ?? null;
}

function findFeature(r: DriftResponse, name: string): FeatureDrift | null {
  const g = r.groups.find((x) => x.drifted) ?? r.groups[0];
  const plain = name.startsWith('output:') ? name.slice(7) : name;
  return [...(g?.features ?? []), ...(g?.outputs ?? [])].find((f) => f.name === plain) ?? null;
}

function FeatureStats({ f }: { f: FeatureDrift }) {
  return (
    <dl class="stats">
      <dt>kind</dt><dd>{f.kind}</dd><dt>observations</dt><dd>{formatCount(f.n)}</dd>
      <dt>PSI</dt><dd>{fmt(f.psi)}</dd><dt>JS</dt><dd>{fmt(f.js)}</dd><dt>KS</dt><dd>{fmt(f.ks)}</dd>
      {f.chi2_p !== null ? <><dt>χ² p</dt><dd>{f.chi2_p.toExponential(2)}</dd></> : null}
      {f.mean !== null ? <><dt>mean now / baseline</dt><dd>{fmt(f.mean)} / {fmt(f.baselineMean)}</dd></> : null}
      {/* No PSI (no bins, nothing to compare with, too few values) is no verdict, never "ok" (docs/drift.md "Drift"). */}
      <dt>verdict</dt><dd>{f.drifted ? <span class="pill revoked">drifted</span> : f.psi === null ? <span class="pill offline">{f.n === 0 ? 'no observations' : 'no verdict'}</span> : <span class="pill online">ok</span>}</dd>
      {f.psi === null && f.insufficient ? <><dt>why</dt><dd>{f.insufficient}</dd></> : null}
    </dl>
  );
}

/** `noReference`: compared with a reference the manifest lacks, so no group gets a verdict however many predictions. */
function Groups({ groups, noReference }: { groups: DriftResponse['groups']; noReference: boolean }) {
  if (groups.length === 0) return <Empty>No predictions from any device in this range.</Empty>;
  return (
    <div class="panel">
      <h2>Groups</h2>
      <table class="plain" aria-label="Drift groups">
        <Head cols={['Group', 'Devices', 'Predictions', 'Verdict', 'Drifted features', 'Worst devices (PSI, feature)']} />
        <tbody>{groups.map((g) => (
          <Fragment key={g.key}><tr data-group={g.key}>
            <td class="mono">{g.key}</td><td>{formatCount(g.devices)}</td><td>{formatCount(g.predictions)}</td>
            <td>{g.insufficient ? <span class="pill offline" title={g.insufficient}>{noReference ? 'no reference' : 'too few predictions'}</span> : g.drifted ? <span class="pill revoked">drift</span> : <span class="pill online">ok</span>}</td>
            <td class="mono">{[...g.features, ...g.outputs].filter((f) => f.drifted).map((f) => f.name).join(', ') || (g.insufficient ? g.insufficient : '—')}</td>
            <td>{g.worstDevices.length === 0 ? '—' : g.worstDevices.map((w) => (
              <div key={w.deviceId}><a class="mono" href={`#/devices/${enc(w.deviceId)}`}>{w.deviceId}</a> <span class="muted">{w.psi.toFixed(2)} {w.feature}</span></div>
            ))}</td>
          </tr>
          {g.leftOut ? <LeftOut group={g.key} l={g.leftOut} /> : null}</Fragment>
        ))}</tbody>
      </table>
    </div>
  );
}

const share = (part: number, whole: number, what: string) => `${formatCount(Math.round(part))} of the group's ${formatCount(Math.round(whole))} ${what} (${whole > 0 ? Math.round((100 * part) / whole) : 0} %)`;

/** A device the hub left out of the group's statistics for holding more than its share (docs/drift.md "No one device carries a group"). */
function LeftOut({ group, l }: { group: string; l: NonNullable<DriftResponse['groups'][number]['leftOut']> }) {
  return (
    <tr class="left-out" data-left-out={group}>
      <td colSpan={6} class="warn">⚠ Left out of {group}'s statistics: <a class="mono" href={`#/devices/${enc(l.deviceId)}`}>{l.deviceId}</a>, which reported {share(l.predictions, l.groupPredictions, 'predictions')} and
        {' '}{share(l.outputValues, l.groupOutputValues, 'output values')}, more than the share {l.maxShare} one device may
        hold: the group's verdict is without it; investigate the box (group by <span class="mono">device</span> for its own drift).</td>
    </tr>
  );
}

/** How many stored reports the drift view lists (newest first; it asks for one more to know there are more). */
const REPORTS_SHOWN = 50;

function Reports({ name, version, tick }: { name: string; version: string; tick: number }) {
  const api = session.value?.api;
  const [open, setOpen] = useState<DriftReport | { error: string; missing: Missing | null } | null>(null);
  const loaded = useRefetched(() => api!.get<DriftReportList>(`/drift-reports?model=${enc(name)}&version=${enc(version)}&limit=${REPORTS_SHOWN + 1}`), [tick, refetchTick.value]);
  const list = loaded.value;
  // A report gone (removed by retention since the list was read) is said by its kind, and the list read again.
  const show = (id: number) => background(api!.get<DriftReport>(`/drift-reports/${id}`).then(setOpen, (e: unknown) => {
    const missing = missingOf(e);
    setOpen({ error: errorText(e), missing });
    if (missing) loaded.retry();
  }));
  return (
    <div class="panel">
      <h2>Stored drift reports</h2>
      <RefetchFailed what="the stored drift reports" r={loaded} />
      {!list ? (loaded.error ? null : <Loading what="drift reports" />) : list.reports.length === 0
        ? <Empty>No stored report for this version (a drift alert stores one when it fires).</Empty> : (
          <table class="plain" aria-label="Drift reports">
            <Head cols={['#', 'Created', 'By', 'Range', 'Group by', 'Verdict', 'Drifted features', 'Note']} />
            <tbody>{list.reports.slice(0, REPORTS_SHOWN).map((x) => (
              <tr key={x.id}><td><button type="button" class="linkish" title="show this report's groups" onClick={() => show(x.id)}>{x.id}</button></td><td>{time(x.createdAt)}</td><td>{x.createdBy}</td><td>{time(x.since)} – {time(x.until)}</td><td class="mono">{x.by ?? 'all'}</td>
                <td>{x.drifted ? <span class="pill revoked">drift</span> : x.insufficient ? <span class="pill offline">too few predictions</span> : <span class="pill online">ok</span>}</td><td class="mono">{x.driftedFeatures.join(', ') || '—'}</td><td>{x.note ?? ''}</td></tr>
            ))}</tbody>
          </table>
        )}
      {list && list.reports.length > REPORTS_SHOWN
        ? <p class="muted" data-testid="drift-reports-more">The newest {REPORTS_SHOWN} reports are listed; <code>edgefleet drift-reports ls --model {name} --version {version}</code> lists the newest 100.</p> : null}
      {!open ? null : 'error' in open ? (open.missing ? <MissingBox m={open.missing} /> : <ErrorBox error={open.error} />) : (
        <div data-testid="drift-report">
          <h2>Report {open.id}</h2>
          <Groups groups={open.report.groups} noReference={open.report.baseline.kind === 'reference' && open.report.baseline.id === null} />
          {/* A report of the alerts part keeps at most 200 devices (docs/decisions/0100-drift-reports-of-alerts.md). */}
          {open.report.leftOut ? <p class="muted">{formatCount(open.report.leftOut.devices)} more devices left out of this report ({formatCount(open.report.leftOut.drifted)} of them drifted): it keeps {open.report.groups.length}, drifted ones first</p> : null}
        </div>
      )}
    </div>
  );
}
