// The device view's metrics and drift (docs/console.md "Device"): for one of the device's model
// versions over the last hour, 6 hours or day, its predictions, error rate and p95 latency per step
// (from the summary windows it sent, GET /devices/{id}/windows, bucketed by common/device-series.ts)
// and its drift against the reference (the drift route grouped by device, this device's group).
// Windows arrive without a stream event, so the panel refetches every 60 s while it is shown; a refetch
// that fails keeps the charts shown, marked, with Retry.
import { hubNow } from '../hub-clock.js';
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import { useRefetched } from '../ui/refetched.js';
import type { DeviceInfo, DriftGroup, DriftResponse, SummaryWindow } from '@edgefleet/shared';
import { deviceSeries, type DeviceSeries } from '../../common/device-series.js';
import { TELEMETRY_PAGE, countOf, formatCount, pagePath, readPages } from '@edgefleet/shared/browser';
import { modelList, refetchTick, session } from '../store.js';
import { Sparkline } from '../ui/sparkline.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';

const RANGES = { '1h': 3600_000, '6h': 6 * 3600_000, '24h': 24 * 3600_000 } as const;
type Range = keyof typeof RANGES;
const BUCKETS = 24;
/** At most about this many windows are read per range, the latest (one a minute by default: a day is 1,440). */
export const WINDOW_LIMIT = 5000;

type Drift = { group: DriftGroup | null; psi: number } | { error: string };
type Loaded = { series: DeviceSeries; truncated: boolean; drift: Drift };

type Run = { name: string; version: string; status: string };

/** The device's versions (active first), then the hub's other versions (a device may send windows before it reports). */
function choices(own: DeviceInfo['models'], hub: ReadonlyArray<{ name: string; version: string }>): Run[] {
  const runs: Run[] = [...own.filter((m) => m.status === 'active'), ...own.filter((m) => m.status !== 'active')];
  const seen = new Set(runs.map((m) => `${m.name}@${m.version}`));
  for (const v of hub) if (!seen.has(`${v.name}@${v.version}`)) { seen.add(`${v.name}@${v.version}`); runs.push({ name: v.name, version: v.version, status: 'not reported' }); }
  return runs;
}

export function DeviceMetrics({ id, models }: { id: string; models: DeviceInfo['models'] }) {
  const runs = choices(models, modelList());
  const [pick, setPick] = useState<string | null>(null);
  const [range, setRange] = useState<Range>('6h');
  const [tick, setTick] = useState(0);
  const run = runs.find((m) => `${m.name}@${m.version}` === pick) ?? runs[0];
  const api = session.value?.api;
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 60_000);
    return () => clearInterval(t);
  }, []);
  const key = run ? `${run.name}@${run.version}` : '';
  // A refetch that fails keeps the charts shown, marked, with Retry (ui/refetched.ts); another version or range starts afresh.
  const data = useRefetched<Loaded | null>(async () => {
    if (!api || !run) return null;
    const until = hubNow(); // the range is the hub's last hour, day…, not this computer's (docs/console.md "Ages")
    const since = until - RANGES[range];
    const sinceIso = new Date(since).toISOString();
    const q = `model=${encodeURIComponent(run.name)}&version=${encodeURIComponent(run.version)}&since=${encodeURIComponent(sinceIso)}&order=newest&limit=${TELEMETRY_PAGE.maxLimit}`;
    const path = `/devices/${encodeURIComponent(id)}/windows?${q}`;
    const drift: Promise<Drift> = api.get<DriftResponse>(`/models/${encodeURIComponent(run.name)}/versions/${encodeURIComponent(run.version)}/drift?since=${encodeURIComponent(sinceIso)}&by=device&timeline=false&worst=false`)
      .then((r) => ({ group: r.groups.find((g) => g.key === id) ?? null, psi: r.thresholds.psi }), (err: unknown) => ({ error: errorText(err) }));
    // Newest first, a page at a time (the hub bounds a page by count and bytes) up to WINDOW_LIMIT.
    const windows = await readPages(async (after) => {
      const p = await api.get<{ windows: SummaryWindow[]; next: string | null }>(pagePath(path, after));
      return { rows: p.windows, next: p.next };
    }, WINDOW_LIMIT);
    return { series: deviceSeries(windows.rows, since, until, BUCKETS), truncated: windows.next !== null, drift: await drift };
  }, [id, run?.name, run?.version, range, tick, refetchTick.value], `${id} ${key} ${range}`);
  if (!run) return <div class="panel" data-testid="device-metrics"><h2>Metrics and drift</h2><Empty>No model on this device or the hub: nothing to chart.</Empty></div>;
  const what = `metrics of ${key}`;
  return (
    <div class="panel" data-testid="device-metrics" aria-labelledby="dm-h">
      <h2 id="dm-h">Metrics and drift</h2>
      <div class="toolbar">
        <label for="dm-model">Model</label>
        <select id="dm-model" value={key} onChange={(e) => setPick((e.currentTarget as HTMLSelectElement).value)}>
          {runs.map((m) => <option key={`${m.name}@${m.version}`} value={`${m.name}@${m.version}`}>{m.name}@{m.version} ({m.status})</option>)}
        </select>
        <label for="dm-range">Range</label>
        <select id="dm-range" value={range} onChange={(e) => setRange((e.currentTarget as HTMLSelectElement).value as Range)}>
          <option value="1h">last hour</option><option value="6h">last 6 hours</option><option value="24h">last 24 hours</option>
        </select>
      </div>
      {data.value && data.error ? <ErrorBox error={`could not refresh the ${what} (shown as of ${time(data.at)}): ${data.error}`} retry={data.retry} /> : null}
      {data.value ? <MetricsBody data={data.value} />
        : data.error ? <ErrorBox error={`${what}: ${data.error}`} retry={data.retry} /> : <Loading what={what} />}
    </div>
  );
}

/** Requests per second with three significant digits at most: `0.0833`, `2.50`, `1,234`. */
function rateText(v: number): string {
  return v >= 100 ? formatCount(Math.round(v)) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** `45 s`, `18 min`, `5 h 30 min`. */
function durationText(sec: number): string {
  if (sec < 60) return `${sec} s`;
  const min = Math.round(sec / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

function MetricsBody({ data }: { data: Loaded }) {
  const s = data.series;
  const stepMin = Math.round(s.stepMs / 60_000);
  const total = s.predictions.reduce((a, b) => a + b, 0);
  return (
    <>
      <p class="state" data-testid="device-metrics-total">{countOf(total, 'prediction')} in {countOf(s.windows, 'window')}{s.reqPerSec === null ? '' : `; ${rateText(s.reqPerSec)} req/s over the ${durationText(s.coveredSec)} this version sent windows`}</p>
      {s.windows === 0 ? <Empty>No summary windows from this device for this version in the range.</Empty> : (
        <div class="spark-row">
          <Sparkline label={`Predictions per ${stepMin} min`} testId="spark-predictions" values={s.predictions.map((n, i) => (s.errorRate[i] === null ? null : n))} starts={s.starts} format={(v) => formatCount(Math.round(v))} />
          <Sparkline label="Error rate" testId="spark-errors" values={s.errorRate} starts={s.starts} format={(v) => `${(v * 100).toFixed(1)} %`} />
          <Sparkline label="p95 latency" testId="spark-p95" values={s.p95} starts={s.starts} format={(v) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`} />
        </div>
      )}
      {data.truncated ? <p class="state">Only the latest {formatCount(s.windows)} windows of the range were read: choose a shorter range for all of them.</p> : null}
      {s.skipped > 0 ? <p class="state">{formatCount(s.skipped)} windows had counts that could not be used and were left out.</p> : null}
      <DriftPart drift={data.drift} />
    </>
  );
}

function DriftPart({ drift }: { drift: Drift }) {
  if ('error' in drift) return <p class="state error" role="alert">Drift: {drift.error}</p>;
  const g = drift.group;
  if (!g) return <Empty>Drift: no predictions from this device in the range.</Empty>;
  if (g.insufficient) return <p class="state" data-testid="device-drift">Drift: {g.insufficient}</p>;
  const rows = [...g.features, ...g.outputs].filter((f) => f.psi !== null).sort((a, b) => (b.psi ?? 0) - (a.psi ?? 0)).slice(0, 8);
  const scale = Math.max(drift.psi * 2, ...rows.map((f) => f.psi ?? 0));
  return (
    <div data-testid="device-drift">
      <p>Drift against the reference ({formatCount(g.predictions)} predictions): <b class={g.drifted ? 'error' : ''}>{g.drifted ? 'drifted' : 'no drift'}</b> (PSI threshold {drift.psi})</p>
      <ul class="psi-list" aria-label="PSI per feature">
        {rows.map((f) => (
          <li key={f.name} data-feature={f.name} data-drifted={f.drifted ? 'true' : 'false'}>
            <span class={f.drifted ? 'mono error' : 'mono'}>{f.drifted ? '▲ ' : ''}{f.name}</span>
            <span><span class={`psi-bar${f.drifted ? ' hot' : ''}`} style={{ width: `${Math.max(2, ((f.psi ?? 0) / scale) * 100)}%` }} /></span>
            <span>{(f.psi ?? 0).toFixed(3)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
