// Accuracy of a model version in the drift view (docs/drift.md "Accuracy", docs/console.md): per group,
// the labels that arrived in the range, the observed accuracy (correct / labelled; none below
// MIN_ACCURACY_LABELS, the same floor as the `accuracy` alert), the expected accuracy from the predicted
// classes' confidence (CBPE) with how many rows it rests on, and a regressor's MAE/RMSE; the confusion
// matrix of the group chosen (rows = labels, columns = predicted). From the metrics route, same range
// and grouping as the drift above it.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { MetricsGroup, MetricsResponse } from '@edgefleet/shared';
import { MIN_ACCURACY_LABELS, formatCount } from '@edgefleet/shared/browser';
import { session, refetchTick } from '../store.js';
import { Empty, ErrorBox, Loading } from '../ui/states.js';
import { Head } from '../ui/table.js';

const enc = encodeURIComponent;
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

export function AccuracyPanel({ name, version, query }: { name: string; version: string; query: string }) {
  const api = session.value?.api;
  const [r, setR] = useState<MetricsResponse | { error: string } | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  useEffect(() => {
    if (!api) return;
    setR(null);
    api.get<MetricsResponse>(`/models/${enc(name)}/versions/${enc(version)}/metrics?${query}`).then(setR, (e: unknown) => setR({ error: errorText(e) }));
  }, [query, refetchTick.value]);
  const groups = r && !('error' in r) ? r.groups : [];
  const shown = groups.find((g) => g.key === chosen) ?? groups.find((g) => g.accuracy.confusion) ?? null;
  return (
    <div class="panel" data-testid="drift-accuracy">
      <h2>Accuracy</h2>
      {!r ? <Loading what="accuracy" /> : 'error' in r ? <ErrorBox error={r.error} /> : groups.length === 0 ? <Empty>No predictions from any device in this range.</Empty>
        : groups.every((g) => g.accuracy.labelled === 0 && g.accuracy.confidenceRows === 0)
          ? <Empty>No labels and no confidences in this range: apps post labels to the agent's feedback endpoint (docs/drift.md "Accuracy"); confidences need a classifier's task in the manifest.</Empty> : (
            <>
              <table class="plain" aria-label="Accuracy per group">
                <Head cols={['Group', 'Labels', 'Observed', 'Expected (CBPE)', 'Observed − expected', 'MAE / RMSE']} />
                <tbody>{groups.map((g) => <Row key={g.key} g={g} selected={g.key === shown?.key && groups.length > 1} onSelect={() => setChosen(g.key)} />)}</tbody>
              </table>
              <p class="muted">Observed accuracy needs at least {formatCount(MIN_ACCURACY_LABELS)} labels; expected accuracy is the mean confidence of the predicted class, so it needs no labels.</p>
              {shown?.accuracy.confusion ? <Confusion g={shown} /> : null}
            </>
          )}
    </div>
  );
}

function Row({ g, selected, onSelect }: { g: MetricsGroup; selected: boolean; onSelect: () => void }) {
  const a = g.accuracy;
  const observed = a.labelled >= MIN_ACCURACY_LABELS ? a.observed : null;
  const gap = observed !== null && a.expected !== null ? observed - a.expected : null;
  return (
    <tr data-group={g.key} class={selected ? 'selected' : ''}>
      <td class="mono">{a.confusion ? <button type="button" class="linkish" title="show its confusion matrix" onClick={onSelect}>{g.key}</button> : g.key}</td>
      <td>{formatCount(a.labelled)}</td>
      <td data-cell="observed">{a.labelled === 0 ? <span class="muted">no labels</span> : observed === null ? <span class="muted" title={`${formatCount(a.labelled)} of ${formatCount(MIN_ACCURACY_LABELS)} labels`}>too few labels</span> : pct(observed)}</td>
      <td data-cell="expected">{pct(a.expected)} <span class="muted">({formatCount(a.confidenceRows)} rows)</span></td>
      <td data-cell="gap">{gap === null ? '—' : <span class={gap < -0.05 ? 'pill revoked' : ''}>{gap >= 0 ? '+' : ''}{(gap * 100).toFixed(1)} pts</span>}</td>
      <td>{a.mae === null ? '—' : `${a.mae.toFixed(3)} / ${(a.rmse ?? 0).toFixed(3)}`}</td>
    </tr>
  );
}

function Confusion({ g }: { g: MetricsGroup }) {
  const a = g.accuracy;
  const m = a.confusion ?? [];
  const classes = a.classes.length === m.length ? a.classes : m.map((_, i) => String(i));
  return (
    <div data-testid="drift-confusion">
      <h3>Confusion in group <span class="mono">{g.key}</span> <span class="muted">(rows: label, columns: predicted)</span></h3>
      <table class="plain" aria-label={`Confusion matrix of ${g.key}`}>
        <Head cols={['', ...classes]} />
        <tbody>{m.map((row, i) => (
          <tr key={classes[i]}><th>{classes[i]}</th>{row.map((n, j) => <td key={j} class={i === j ? 'mono ok' : 'mono'}>{formatCount(n)}</td>)}</tr>
        ))}</tbody>
      </table>
    </div>
  );
}
