// A small line chart of one series over time (plain SVG, no chart library: docs/console.md "Device"):
// a gap where a bucket has no value, the range's highest value on the left, the latest at the end,
// and each point's time and value in its tooltip. Infinity (a latency beyond the sketch) is drawn at
// the top and said as "> max".
export function Sparkline(p: { label: string; values: Array<number | null>; starts: number[]; format(v: number): string; testId?: string }) {
  const W = 300;
  const H = 54;
  const finite = p.values.filter((v): v is number => v !== null && Number.isFinite(v));
  const hasInf = p.values.some((v) => v === Number.POSITIVE_INFINITY);
  const max = finite.length ? Math.max(...finite) : 0;
  const top = max > 0 ? max : 1;
  const n = p.values.length;
  const x = (i: number) => (n <= 1 ? W / 2 : (i / (n - 1)) * W);
  const y = (v: number) => (Number.isFinite(v) ? H - 4 - (v / top) * (H - 8) : 4);
  const segments: string[][] = [];
  let cur: string[] = [];
  p.values.forEach((v, i) => {
    if (v === null) { if (cur.length) segments.push(cur); cur = []; return; }
    cur.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (cur.length) segments.push(cur);
  const lastIdx = p.values.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0).pop();
  const last = lastIdx === undefined ? null : (p.values[lastIdx] as number);
  const say = (v: number) => (Number.isFinite(v) ? p.format(v) : `> ${p.format(max)}`);
  return (
    <figure class="spark" data-testid={p.testId} aria-label={`${p.label}: ${last === null ? 'no data' : `latest ${say(last)}`}`}>
      <figcaption><span>{p.label}</span> <b data-testid={p.testId ? `${p.testId}-latest` : undefined}>{last === null ? '—' : say(last)}</b> <small>max {finite.length ? p.format(max) : '—'}{hasInf ? ' (and beyond)' : ''}</small></figcaption>
      {segments.length === 0 ? <p class="state empty">No data in this range.</p> : (
        <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} aria-hidden="true">
          <line x1={0} y1={H - 4} x2={W} y2={H - 4} class="baseline" />
          {segments.map((s, i) => (s.length === 1
            ? <circle key={i} cx={s[0]?.split(',')[0]} cy={s[0]?.split(',')[1]} r={2} class="dot" />
            : <polyline key={i} points={s.join(' ')} class="line" />))}
          {p.values.map((v, i) => (v === null ? null : (
            <rect key={`h${i}`} x={x(i) - W / Math.max(2, n) / 2} y={0} width={W / Math.max(2, n)} height={H} class="hit">
              <title>{`${new Date(p.starts[i] ?? 0).toISOString().slice(11, 16)} UTC: ${say(v)}`}</title>
            </rect>
          )))}
        </svg>
      )}
    </figure>
  );
}
