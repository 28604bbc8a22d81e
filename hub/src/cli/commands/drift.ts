// `edgefleet drift` (a readable table per group with a PSI sparkline of each feature over time),
// `edgefleet metrics`, and stored drift reports (`drift-reports create|ls|show`). docs/drift.md.
import { parseTimeOption, timeCheck } from '@edgefleet/shared/cli';
import { escapeLines, type DriftReport, type DriftReportList, type DriftResponse, type FeatureDrift, type MetricsResponse } from '@edgefleet/shared';
import { UsageError, optBool, optString, problemOf, type Command, type OptionSpec, type ParsedArgs } from '../args.js';
import { table } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';

function parseBy(by: string): string {
  if (!/^(device|tag:[A-Za-z0-9._-]{1,64})$/.test(by)) throw new UsageError(`--by: expected "device" or "tag:KEY", got "${by}"`);
  return by;
}

const RANGE_OPTIONS: Record<string, OptionSpec> = {
  ...HUB_OPTIONS,
  by: { type: 'string', value: 'device|tag:KEY', description: 'one group per device or per value of a tag (default: all devices)', check: problemOf(parseBy) },
  since: { type: 'string', value: 'AGO|DATE|ISO', description: 'start: a duration ago (30m, 24h, 7d), a date (2026-01-01) or an ISO time (default 24h)', check: timeCheck('--since') },
  until: { type: 'string', value: 'AGO|DATE|ISO', description: 'end, in the same forms (default now)', check: timeCheck('--until') },
};

const MODEL_VERSION = [{ name: 'MODEL', description: 'model name', required: true }, { name: 'VERSION', description: 'version', required: true }];

/** A time option (shared/src/cli/time.ts: a duration ago, a date or an ISO date-time) as an ISO time. */
export function parseSince(text: string, now: Date, what = '--since'): string {
  return parseTimeOption(text, now, what).toISOString();
}

function rangeQuery(args: ParsedArgs, now: Date): URLSearchParams {
  const q = new URLSearchParams();
  const by = optString(args, 'by');
  if (by !== undefined) q.set('by', parseBy(by));
  const since = optString(args, 'since');
  if (since !== undefined) q.set('since', parseSince(since, now));
  const until = optString(args, 'until');
  if (until !== undefined) q.set('until', parseSince(until, now, '--until'));
  return q;
}

const BARS = '▁▂▃▄▅▆▇█';
/**
 * One character per value on a 0..max scale (max at least `floor`, e.g. the PSI threshold); "·" for no value,
 * "_" for a bucket without any prediction (`predictions[i]` 0, when given).
 */
export function sparkline(values: ReadonlyArray<number | null>, floor: number, predictions?: readonly number[]): string {
  const max = Math.max(floor, ...values.filter((v): v is number => v !== null));
  return values.map((v, i) => (v === null ? (predictions?.[i] === 0 ? '_' : '·') : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1) + 0.5))] as string)).join('');
}

const fmt = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));

/**
 * A statistic next to its threshold: `digits` places, more where rounding would carry a value below the
 * threshold up to it (PSI 0.1996 at 0.2 prints 0.1996, not 0.200), so the printed number never contradicts
 * the verdict. Past 6 places it is cut (not rounded) there: still below.
 */
export function fmtVs(x: number | null, threshold: number, digits = 3): string {
  if (x === null) return '-';
  if (!(x < threshold)) return x.toFixed(digits);
  for (let d = digits; d <= 6; d++) {
    const text = x.toFixed(d);
    if (Number(text) < threshold) return text;
  }
  return (Math.floor(x * 1e6) / 1e6).toFixed(6);
}

function featureRow(f: FeatureDrift, trend: string, t: DriftResponse['thresholds']): string[] {
  const mean = f.mean === null ? '-' : `${f.mean.toPrecision(3)}${f.baselineMean === null ? '' : ` (${f.baselineMean.toPrecision(3)})`}`;
  return [f.kind === 'output' ? `output:${f.name}` : f.name, f.kind, fmtVs(f.psi, t.psi), fmtVs(f.js, t.js), fmt(f.ks), f.chi2_p === null ? '-' : f.chi2_p.toExponential(1), mean, String(f.n), f.drifted ? 'DRIFT' : '', trend];
}

/** The mean and n of each numeric feature and output that has a mean (a group without a verdict). */
function meansTable(all: readonly FeatureDrift[]): string {
  const rows = all.filter((f) => f.mean !== null).map((f) => [f.kind === 'output' ? `output:${f.name}` : f.name, f.kind, (f.mean as number).toPrecision(3), String(f.n)]);
  return rows.length ? table(['FEATURE', 'KIND', 'MEAN', 'N'], rows, '  ') : '';
}

/** What a grouped answer without groups says, rather than an empty table. */
function noPredictions(r: { model: string; version: string; by: string | null }): string {
  return `no predictions of ${r.model} ${r.version} from any device in this range${r.by ? `, so no group by ${r.by}` : ''}: expected a range with traffic (--since, --until)\n`;
}

/**
 * What a response where no group has a verdict ends with: what to try for one, fitting why (no reference,
 * a range not begun at `now`, a thin baseline period, too few predictions in a past range).
 */
function noVerdict(r: DriftResponse, now: Date): string {
  let try_: string;
  if (r.baseline.kind === 'reference' && !r.baseline.id) try_ = 'the manifest has no reference to compare with: compare with a period (--baseline START/END)';
  else if (Date.parse(r.since) > now.getTime()) try_ = `the range is in the future (now is ${now.toISOString()}): no device has reported in it yet: expected a range that has begun (--since 24h)`;
  else if (r.baseline.kind === 'range' && r.groups.every((g) => g.predictions >= r.thresholds.minPredictions)) try_ = 'the baseline period has too few predictions to compare with: expected a period with this version\'s traffic (--baseline START/END) or the reference';
  else try_ = `expected more predictions: a longer range (--since 7d)${r.by ? `, or fewer groups (leave out --by ${r.by})` : ''}`;
  return `no drift verdict for ${r.model} ${r.version} in this range (${r.since} .. ${r.until}): ${try_}\n`;
}

/** Under a group's table: why a feature or output has no PSI while the group has a verdict (no bins, nothing to compare with, too few values). */
function unknownNotes(features: readonly FeatureDrift[]): string {
  return features.filter((f) => f.psi === null && f.insufficient).map((f) => `  ${f.kind === 'output' ? `output:${f.name}` : f.name}: ${f.insufficient as string}\n`).join('');
}

/**
 * The human form of a drift response: one table per group, worst devices, the baseline. `now` (the CLI's clock;
 * a stored report's creation time) tells a range not begun from an empty past one.
 */
export function formatDrift(r: DriftResponse, now = new Date()): string {
  const base = r.baseline.kind === 'reference' ? `the manifest's reference${r.baseline.id ? ` ${r.baseline.id.slice(0, 12)}` : ' (it has none)'}` : `${r.baseline.since} .. ${r.baseline.until}`;
  let out = `${r.model} ${r.version}, ${r.since} .. ${r.until}, against ${base} (drift: PSI >= ${r.thresholds.psi} or JS >= ${r.thresholds.js})\n`;
  if (r.deprecated) out += `DEPRECATED at ${r.deprecated.at} (${r.deprecated.reason ?? 'no reason given'}): no longer assignable; the devices running it keep it until moved to another version\n`;
  // The trend is a column of the verdicts' tables: with no verdict it would head nothing.
  const verdicts = r.groups.some((g) => !g.insufficient);
  if (r.timeline && verdicts) out += `TREND: PSI of all devices per ${r.timeline.bucketSec / 3600} h, oldest first (· too few predictions${r.timeline.predictions ? ', _ none' : ''})\n`;
  if (r.groups.length === 0) out += `\n${noPredictions(r)}`;
  for (const g of r.groups) {
    out += `\n${r.by ? `${r.by} = ${g.key}: ` : ''}${g.devices} device${g.devices === 1 ? '' : 's'}, ${g.predictions} predictions${g.drifted ? ' - DRIFT' : ''}\n`;
    // A device over its share of the group's predictions or output values (hub/src/drift/device-share.ts).
    if (g.leftOut) out += `  ${g.leftOut.note}\n`;
    if (g.insufficient) {
      out += `  no verdict: ${g.insufficient}\n`;
      // A version without a reference has its means and n all the same, as the JSON does (docs/drift.md "Drift").
      if (r.baseline.kind === 'reference' && !r.baseline.id) out += meansTable([...g.features, ...g.outputs]);
      continue;
    }
    const all = [...g.features, ...g.outputs];
    const rows = all.map((f) => {
      const psi = r.timeline?.psi[f.kind === 'output' ? `output:${f.name}` : f.name] ?? [];
      // Nothing to compare with (no bins, `bins` null) and no PSI in any bucket: a row of "·" would read "too few predictions".
      const none = f.bins === null && psi.every((x) => x === null);
      return featureRow(f, r.timeline ? (none ? '-' : sparkline(psi, r.thresholds.psi, r.timeline.predictions)) : '', r.thresholds);
    });
    out += table(['FEATURE', 'KIND', 'PSI', 'JS', 'KS', 'CHI2 P', 'MEAN (BASE)', 'N', 'DRIFT', 'TREND'], rows, '  ');
    out += unknownNotes(all);
    // A group by device ranks only itself: its table says it all.
    const worst = r.by === 'device' ? g.worstDevices.filter((w) => w.deviceId !== g.key) : g.worstDevices;
    if (worst.length) out += `  worst devices: ${worst.map((w) => `${w.deviceId} (${w.feature} PSI ${fmtVs(w.psi, r.thresholds.psi, 2)})`).join(', ')}\n`;
  }
  if (r.groups.length && !verdicts) out += `\n${noVerdict(r, now)}`;
  if (r.leftOut) out += `\n${r.leftOut.devices} more devices left out of this report (${r.leftOut.drifted} of them drifted): it keeps ${r.groups.length}, drifted ones first\n`;
  return escapeLines(out);
}

export const driftCmd: Command = {
  summary: 'Drift of each feature and output of a model version against its reference (or a baseline period), per group, with a PSI trend',
  usage: 'MODEL VERSION [--by device|tag:KEY] [--since 24h] [--until AGO|DATE|ISO] [--baseline reference|START/END] [--json]',
  options: { ...RANGE_OPTIONS, baseline: { type: 'string', value: 'reference|START/END', description: 'compare with the reference (default) or a period, e.g. last week' } },
  positionals: MODEL_VERSION,
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const q = rangeQuery(args, ctx.now());
    const baseline = optString(args, 'baseline');
    if (baseline !== undefined) q.set('baseline', baseline);
    const r = await HubClient.from(args, ctx).request<DriftResponse>('GET', `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/drift${q.size ? `?${q}` : ''}`);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : formatDrift(r, ctx.now()));
    return 0;
  },
};

export const metricsCmd: Command = {
  summary: 'Fleet metrics of a model version from rollups: predictions, errors by kind, latency percentiles, requests/s over the time the version reported, per group',
  usage: 'MODEL VERSION [--by device|tag:KEY] [--since 24h] [--until AGO|DATE|ISO] [--json]',
  options: RANGE_OPTIONS,
  positionals: MODEL_VERSION,
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const q = rangeQuery(args, ctx.now());
    const r = await HubClient.from(args, ctx).request<MetricsResponse>('GET', `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/metrics${q.size ? `?${q}` : ''}`);
    if (optBool(args, 'json')) {
      ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
    // REQ/S over the time the version reported windows (docs/cli.md "metrics"); a hub without that field, over the range.
    const reqPerSec = (g: MetricsResponse['groups'][number]) => (g.activeThroughput === undefined ? g.throughput : g.activeThroughput)?.toFixed(2) ?? '-';
    const ms = (x: number | null) => (x === null ? '-' : x === Infinity ? '>60s' : `${x.toPrecision(3)}`);
    // Accuracy: observed over the labels that came (n), CBPE's expected from the confidence (docs/drift.md "Accuracy").
    const acc = (g: MetricsResponse['groups'][number]) => (g.accuracy.observed === null ? (g.accuracy.mae === null ? '-' : `MAE ${g.accuracy.mae.toPrecision(3)}`) : `${pct(g.accuracy.observed)} (${g.accuracy.labelled})`);
    if (r.groups.length === 0) {
      ctx.stdout.write(escapeLines(`${r.model} ${r.version}, ${r.since} .. ${r.until}\n${noPredictions(r)}`));
      return 0;
    }
    ctx.stdout.write(escapeLines(`${r.model} ${r.version}, ${r.since} .. ${r.until}\n`) + table(
      ['GROUP', 'DEVICES', 'PREDICTIONS', 'REQ/S', 'MODEL ERR', 'INVALID IN', 'SHED', 'P50 MS', 'P95 MS', 'P99 MS', 'ACCURACY (N)', 'EXPECTED'],
      r.groups.map((g) => [g.key, String(g.devices), String(g.predictions), reqPerSec(g), pct(g.modelErrorRate), pct(g.invalidInputRate), pct(g.shedLoadRate),
        ms(g.answeredLatency.p50), ms(g.answeredLatency.p95), ms(g.answeredLatency.p99), acc(g), pct(g.accuracy.expected)]),
    ) + escapeLines(r.groups.flatMap((g) => (g.leftOut ? [`${g.key}: ${g.leftOut.note}\n`] : [])).join('')));
    return 0;
  },
};

export const driftReportCreate: Command = {
  summary: 'Compute drift now and store it as a report on the hub',
  usage: 'MODEL VERSION [--by device|tag:KEY] [--since 24h] [--until AGO|DATE|ISO] [--baseline ...] [--note TEXT] [--json]',
  options: { ...RANGE_OPTIONS, baseline: { type: 'string', value: 'reference|START/END', description: 'as for drift' }, note: { type: 'string', value: 'TEXT', description: 'why (stored with the report)' } },
  positionals: MODEL_VERSION,
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const q = rangeQuery(args, ctx.now());
    const body: Record<string, string> = { model, version };
    for (const [k, v] of q) body[k] = v;
    for (const k of ['baseline', 'note']) {
      const v = optString(args, k);
      if (v !== undefined) body[k] = v;
    }
    const r = await HubClient.from(args, ctx).request<DriftReport>('POST', '/drift-reports', body);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : `stored drift report ${r.id}${r.drifted ? ' (drift found)' : ''}\n${formatDrift(r.report, new Date(r.createdAt))}`);
    return 0;
  },
};

/**
 * The table of `drift-reports ls`; LEFT OUT: the devices a report by device did not keep (it keeps at most 200,
 * docs/drift.md "Alerts"), drifted ones among them.
 */
export function formatReportList(r: DriftReportList): string {
  const leftOut = (x: DriftReportList['reports'][number]) => (x.leftOut ? `${x.leftOut.devices} (${x.leftOut.drifted} drifted)` : '-');
  return table(['ID', 'MODEL', 'VERSION', 'RANGE', 'BY', 'DRIFTED', 'LEFT OUT', 'CREATED', 'BY WHOM'],
    r.reports.map((x) => [String(x.id), x.model, x.version, `${x.since} .. ${x.until}`, x.by ?? 'all', x.driftedFeatures.join(',') || (x.insufficient ? 'no verdict' : 'no'), leftOut(x), x.createdAt, x.createdBy]));
}

export const driftReportLs: Command = {
  summary: 'List stored drift reports, newest first: drifted features, devices left out', usage: '[--model NAME] [--version V] [--json]',
  options: { ...HUB_OPTIONS, model: { type: 'string', value: 'NAME', description: 'only this model' }, version: { type: 'string', value: 'V', description: 'only this version' } },
  async run(args, ctx) {
    const q = new URLSearchParams();
    for (const k of ['model', 'version']) {
      const v = optString(args, k);
      if (v !== undefined) q.set(k, v);
    }
    const r = await HubClient.from(args, ctx).request<DriftReportList>('GET', `/drift-reports${q.size ? `?${q}` : ''}`);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : formatReportList(r));
    return 0;
  },
};

export const driftReportShow: Command = {
  summary: 'Show a stored drift report: groups, drifted features, devices left out', usage: 'ID [--json]', options: HUB_OPTIONS,
  positionals: [{ name: 'ID', description: 'report id', required: true }],
  async run(args, ctx) {
    const id = args.positionals[0] as string;
    if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`ID: expected a positive integer, got "${id}"`);
    const r = await HubClient.from(args, ctx).request<DriftReport>('GET', `/drift-reports/${id}`);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : `drift report ${r.id} by ${r.createdBy} at ${r.createdAt}${r.note ? `: ${escapeLines(r.note)}` : ''}\n${formatDrift(r.report, new Date(r.createdAt))}`);
    return 0;
  },
};
