// The drift heat map (plain SVG, no chart library: docs/console.md): one row per feature and output,
// one column per hour of the drift route's PSI timeline, coloured by PSI against the model's threshold.
// A cell at or above the threshold is outlined; a null cell (too few predictions) is hatched grey.
// Each row's name is a button, so a feature is selected with the keyboard as with the mouse.
import type { DriftTimeline } from '@edgefleet/shared';
import { time } from '../ui/states.js';

const CELL_W = 22;
const CELL_H = 20;
const LABEL_W = 170;

/** An hour's column label, in UTC as every time the console shows: the date at midnight (a range of days), else the hour. */
const hourLabel = (iso: string): string => (iso.slice(11, 13) === '00' ? iso.slice(5, 10) : iso.slice(11, 16));
/** A time as the axis's ends say it: "12-05 10:00 UTC". */
const shortTime = (iso: string | undefined): string => (iso ? `${iso.slice(5, 16).replace('T', ' ')} UTC` : '');

/** 0 → panel blue-grey, threshold → amber, 2× threshold and above → red. */
export function psiColor(psi: number, threshold: number): string {
  const t = Math.min(1, psi / (2 * threshold));
  const mix = (a: number[], b: number[], k: number) => a.map((x, i) => Math.round(x + ((b[i] as number) - x) * k));
  const rgb = t < 0.5 ? mix([35, 50, 66], [229, 180, 73], t * 2) : mix([229, 180, 73], [255, 107, 107], (t - 0.5) * 2);
  return `rgb(${rgb.join(',')})`;
}

export function HeatMap(p: { timeline: DriftTimeline; threshold: number; selected: string | null; onSelect(name: string): void }) {
  const names = Object.keys(p.timeline.psi);
  const hours = p.timeline.starts;
  if (names.length === 0 || hours.length === 0) return <p class="state empty">No timeline: no hour in this range has predictions.</p>;
  const w = LABEL_W + hours.length * CELL_W;
  return (
    <div class="heatmap" role="group" aria-label="PSI per feature per hour">
      <svg width={w} height={names.length * CELL_H + 22} aria-hidden="true">
        <text x={0} y={12} class="axis" data-testid="heat-tz">hour (UTC)</text>
        {/* Every third hour of the clock (00, 03, …), so midnight, labelled with its date, is always one: every third column from the range's start missed it. */}
        {hours.map((h, j) => (Number(h.slice(11, 13)) % 3 === 0
          ? <text key={h} x={LABEL_W + j * CELL_W} y={12} class="axis">{hourLabel(h)}</text> : null))}
        {names.map((n, i) => (p.timeline.psi[n] ?? []).map((v, j) => (
          <rect key={`${n}-${j}`} x={LABEL_W + j * CELL_W} y={18 + i * CELL_H} width={CELL_W - 2} height={CELL_H - 2} rx={2}
            class={v === null ? 'cell none' : v >= p.threshold ? 'cell hot' : 'cell'} fill={v === null ? undefined : psiColor(v, p.threshold)}>
            <title>{`${n} ${time(hours[j])}: ${v === null ? 'too few predictions' : `PSI ${v.toFixed(3)}`}`}</title>
          </rect>
        )))}
      </svg>
      <ul class="heat-rows" style={{ top: '18px', width: `${LABEL_W - 8}px` }}>
        {names.map((n) => {
          const vals = (p.timeline.psi[n] ?? []).filter((v): v is number => v !== null);
          const max = vals.length ? Math.max(...vals) : null;
          const flagged = max !== null && max >= p.threshold;
          return (
            <li key={n} style={{ height: `${CELL_H}px` }}>
              <button type="button" class={`heat-label${n === p.selected ? ' selected' : ''}${flagged ? ' flagged' : ''}`} data-feature={n} data-flagged={flagged ? 'true' : 'false'}
                aria-pressed={n === p.selected} title={max === null ? 'too few predictions' : `max PSI ${max.toFixed(3)}`} onClick={() => p.onSelect(n)}>
                {flagged ? '▲ ' : ''}{n}
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** PSI of one feature per hour as bars, with the threshold as a line. */
export function PsiBars(p: { values: Array<number | null>; starts: string[]; threshold: number }) {
  const H = 90;
  const W = Math.max(240, p.values.length * 14);
  const max = Math.max(p.threshold * 1.5, ...p.values.map((v) => v ?? 0));
  const bw = W / Math.max(1, p.values.length);
  const y = (v: number) => H - (v / max) * H;
  return (
    <svg width={W} height={H + 16} role="img" aria-label="PSI per hour">
      {p.values.map((v, i) => (v === null
        ? <rect key={i} x={i * bw + 1} y={H - 2} width={bw - 2} height={2} class="cell none" />
        : <rect key={i} x={i * bw + 1} y={y(v)} width={bw - 2} height={H - y(v)} fill={psiColor(v, p.threshold)}><title>{`${time(p.starts[i])}: PSI ${v.toFixed(3)}`}</title></rect>))}
      <line x1={0} x2={W} y1={y(p.threshold)} y2={y(p.threshold)} class="threshold" />
      <text x={2} y={H + 13} class="axis">{shortTime(p.starts[0])}</text>
      <text x={W - 2} y={H + 13} class="axis" text-anchor="end">{shortTime(p.starts.at(-1))}</text>
    </svg>
  );
}

/** Baseline (reference) vs current share of each bin, side by side; a bin's title gives both shares. */
export function Histogram(p: { labels: string[]; baseline: number[]; current: number[] }) {
  const H = 110;
  const share = (a: number[]) => { const t = a.reduce((s, x) => s + x, 0) || 1; return a.map((x) => x / t); };
  const [b, c] = [share(p.baseline), share(p.current)];
  const max = Math.max(0.01, ...b, ...c);
  const bw = Math.max(18, Math.min(48, 640 / Math.max(1, p.labels.length)));
  const W = bw * p.labels.length;
  const h = (v: number) => (v / max) * H;
  return (
    <figure class="histogram" data-testid="histogram">
      <svg width={W} height={H + 4} role="img" aria-label="Baseline and current share per bin">
        {p.labels.map((l, i) => (
          <g key={i}>
            <title>{`${l}: baseline ${((b[i] ?? 0) * 100).toFixed(1)} %, now ${((c[i] ?? 0) * 100).toFixed(1)} %`}</title>
            <rect x={i * bw + 2} y={H - h(b[i] ?? 0)} width={bw / 2 - 2} height={h(b[i] ?? 0)} class="bar-base" />
            <rect x={i * bw + bw / 2} y={H - h(c[i] ?? 0)} width={bw / 2 - 2} height={h(c[i] ?? 0)} class="bar-now" />
          </g>
        ))}
      </svg>
      <figcaption><span class="key-base">■</span> baseline <span class="key-now">■</span> now <span class="muted">({p.labels[0]} … {p.labels.at(-1)})</span></figcaption>
    </figure>
  );
}
