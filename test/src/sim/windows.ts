// Summary windows drawn from a manifest's reference distribution (uniform within each reference bin),
// recorded as the agent records them, optionally shifted: one feature's mean by one standard
// deviation, another's spread x2.5, a share of rows in a category outside the vocabulary. Used by the
// drift known-answer scenario and the console's drift view test.
import {
  addCategory, addLatency, addMoment, addToHistogram, emptyWindow, type Manifest, type SummaryWindow,
} from '@edgefleet/shared';

export interface Shift { mean?: string; spread?: string; newCategory?: number }

/** A window of `n` rows drawn from the manifest's reference (uniform within each reference bin), then shifted. */
export function sampleWindow(m: Manifest, start: number, lengthSec: number, n: number, shift: Shift, rand: () => number): SummaryWindow {
  const ref = m.reference;
  if (!ref) throw new Error('the example model has a reference');
  const features = m.features ?? [];
  const w = emptyWindow(
    { model: m.name, version: m.version, referenceId: ref.id, start, lengthSec },
    {
      features: features.map((f) => {
        const r = ref.features.find((x) => x.name === f.name);
        return { name: f.name, kind: f.kind, ...(r?.kind === 'numeric' ? { bins: r.edges.length - 1 } : {}) };
      }),
      outputs: ref.outputs.map((o) => ({ name: o.name, index: o.index, bins: o.edges.length - 1 })),
    },
  );
  const draw = (edges: number[], counts: number[]) => {
    const total = counts.reduce((a, b) => a + b, 0);
    let u = rand() * total;
    let i = 0;
    while (i < counts.length - 1 && u >= (counts[i] as number)) u -= counts[i++] as number;
    return (edges[i] as number) + rand() * ((edges[i + 1] as number) - (edges[i] as number));
  };
  for (let k = 0; k < n; k++) {
    w.count++;
    addLatency(w.latency, 1 + rand() * 4);
    for (const f of w.features) {
      const r = ref.features.find((x) => x.name === f.name);
      if (f.kind === 'numeric' && r?.kind === 'numeric' && f.hist) {
        const sd = Math.sqrt(r.moments.m2 / Math.max(1, r.moments.n - 1));
        let x = draw(r.edges, r.counts);
        if (shift.mean === f.name) x += sd;
        if (shift.spread === f.name) x = r.moments.mean + (x - r.moments.mean) * 2.5;
        addToHistogram(f.hist, r.edges, x);
        addMoment(f.moments, x);
      } else if (f.kind === 'categorical' && r?.kind === 'categorical') {
        const vocab = features.find((x) => x.name === f.name)?.vocabulary ?? [];
        const known = vocab.map((v) => r.counts[v] ?? 0);
        const i = shift.newCategory !== undefined && rand() < shift.newCategory ? vocab.length + 5 : Math.floor(draw(vocab.map((_, j) => j).concat(vocab.length), known));
        addCategory(f.cat, vocab, i);
      }
    }
    for (const o of w.outputs) {
      const r = ref.outputs.find((x) => x.name === o.name);
      if (!r || !o.hist) continue;
      const y = draw(r.edges, r.counts);
      addToHistogram(o.hist, r.edges, y);
      addMoment(o.moments, y);
    }
  }
  return w;
}
