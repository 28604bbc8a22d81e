// "Try it" in the models view (docs/console.md): a version's samples run in this browser with
// onnxruntime-web (loaded from the hub's console assets only when asked; CSP 'wasm-unsafe-eval'),
// through the agent's own request validator and output comparison (@edgefleet/shared/browser), on
// files checked against the signed manifest. Shown next to what devices reported of their install
// preflight on the same samples: it passed (a device installs a version only when its outputs match the
// bundle's expectations, decision 0009) and how long it took.
import { useMemo, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type * as Ort from 'onnxruntime-web';
import type { Manifest } from '@edgefleet/shared';
import { compareOutputs, sessionRunner, validateInferRequest } from '@edgefleet/shared/browser';
import { devices, devicesVersion, session } from '../store.js';
import { checkedFile, readBundle } from '../bundle.js';
import { Empty } from '../ui/states.js';

type OrtModule = typeof Ort;
let ort: Promise<OrtModule> | null = null;
/** onnxruntime-web from the console's assets (desktop/scripts/build-renderer.mjs copies it there), once. */
function loadOrt(): Promise<OrtModule> {
  const url = '/assets/ort.wasm.min.mjs'; // a variable: esbuild leaves the import to the browser
  ort ??= (import(url) as Promise<OrtModule>).then((m) => {
    m.env.wasm.wasmPaths = '/assets/';
    m.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for samples
    return m;
  });
  return ort;
}

interface OutputRow { name: string; shape: readonly number[]; values: string[] }
interface SampleResult { sample: string; ms: number; outputs: OutputRow[]; expected: OutputRow[] | null; diff: string | null }

const text = new TextDecoder();
const show = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v));
const head = (data: ArrayLike<unknown> | readonly unknown[]): string[] => Array.from(data as ArrayLike<unknown>).slice(0, 8).map(show);

async function runSamples(bundlePath: string, manifest: Manifest): Promise<SampleResult[]> {
  const api = session.value?.api;
  if (!api) throw new Error('signed out');
  const res = await api.raw(bundlePath);
  if (!res.body) throw new Error('empty bundle');
  const files = await readBundle(res.body);
  const model = await checkedFile(files, manifest, manifest.entrypoint);
  const m = await loadOrt();
  const s = await m.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const run = sessionRunner(s, (type, data, dims) => new m.Tensor(type as 'float32', data as Float32Array, dims));
    const out: SampleResult[] = [];
    for (const sm of manifest.samples ?? []) {
      const body = JSON.parse(text.decode(await checkedFile(files, manifest, sm.request))) as unknown;
      const { inputs } = validateInferRequest(body, manifest.io, { allowNonFinite: false });
      const t0 = performance.now();
      const outputs = await run(inputs);
      const ms = performance.now() - t0;
      const exp = sm.expected ? (JSON.parse(text.decode(await checkedFile(files, manifest, sm.expected))) as { outputs: Array<{ name: string; shape?: number[]; data: unknown[] }> }).outputs : null;
      out.push({
        sample: sm.request, ms,
        outputs: outputs.map((o) => ({ name: o.name, shape: o.shape, values: head(o.data as ArrayLike<unknown>) })),
        expected: exp ? exp.map((e) => ({ name: e.name, shape: e.shape ?? [], values: head(e.data.flat(Infinity)) })) : null,
        diff: exp ? compareOutputs(outputs, exp, sm.tolerance ?? 1e-4) ?? null : null,
      });
    }
    return out;
  } finally {
    await s.release();
  }
}

export function TryIt({ name, version, bundlePath, manifest, signed }: { name: string; version: string; bundlePath: string; manifest: Manifest; signed: boolean }) {
  const [state, setState] = useState<'idle' | 'running' | { error: string } | SampleResult[]>('idle');
  const samples = manifest.samples ?? [];
  const v = devicesVersion.value; // re-computed when devices report
  const ran = useMemo(() => [...devices.values()].flatMap((d) => d.models.filter((x) => x.name === name && x.version === version).map((x) => ({ id: d.id, status: x.status, pf: x.preflight }))), [v, name, version]);
  if (samples.length === 0) return <Empty>This version has no samples to try (pack with <code>--sample</code>).</Empty>;
  if (manifest.encryption) return <Empty>Sealed: its files are encrypted to the devices' keys, so the console cannot run it.</Empty>;
  const go = () => {
    setState('running');
    runSamples(bundlePath, manifest).then(setState, (e: unknown) => setState({ error: errorText(e) }));
  };
  return (
    <div data-testid="try-it">
      <button type="button" onClick={go} disabled={!signed || state === 'running'} title={signed ? '' : 'only a bundle whose signatures were verified here is run'}>
        {state === 'running' ? 'Running…' : `Try it: run ${samples.length} sample${samples.length === 1 ? '' : 's'} in this browser`}
      </button>
      {typeof state === 'object' && 'error' in state ? <p class="error" role="alert">Could not run the samples here: {state.error}</p> : null}
      {Array.isArray(state) ? (
        <table class="plain" aria-label="Sample results">
          <thead><tr><th>Sample</th><th>Output</th><th>In this browser</th><th>Expected</th><th>Verdict</th><th>ms</th></tr></thead>
          <tbody>{state.flatMap((r) => r.outputs.map((o, i) => {
            const e = r.expected?.find((x) => x.name === o.name);
            return (
              <tr key={r.sample + o.name} data-sample={r.sample}>
                <td class="mono">{i === 0 ? r.sample : ''}</td><td class="mono">{o.name} [{o.shape.join('×')}]</td>
                <td class="mono" data-testid="browser-output">{o.values.join(', ')}</td><td class="mono">{e ? e.values.join(', ') : '—'}</td>
                <td>{i > 0 ? '' : r.expected === null ? <span class="muted">no expectation</span> : r.diff ? <span class="error" data-testid="sample-verdict">differs: {r.diff}</span> : <span class="ok" data-testid="sample-verdict">matches</span>}</td>
                <td>{i === 0 ? r.ms.toFixed(1) : ''}</td>
              </tr>
            );
          }))}</tbody>
        </table>
      ) : null}
      <h2>Preflight on devices</h2>
      {ran.length === 0 ? <Empty>No device reports this version (a device that refused it at preflight does not install it).</Empty> : (
        <table class="plain" aria-label="Device preflight">
          <thead><tr><th>Device</th><th>Status</th><th>Preflight</th><th>Samples × runs</th><th>p50 / p95 ms</th></tr></thead>
          <tbody>{ran.map((d) => (
            <tr key={d.id} data-device={d.id}><td class="mono">{d.id}</td><td>{d.status}</td><td>{d.pf ? 'outputs matched the expectations' : 'not reported'}</td>
              <td>{d.pf ? `${d.pf.samples} × ${d.pf.runs / Math.max(1, d.pf.samples)}` : '—'}</td><td>{d.pf ? `${d.pf.p50Ms.toFixed(2)} / ${d.pf.p95Ms.toFixed(2)}` : '—'}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}
