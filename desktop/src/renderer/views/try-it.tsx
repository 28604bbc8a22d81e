// "Try it" in the models view (docs/console.md): a version's samples run in this browser with
// onnxruntime-web (loaded from the hub's console assets only when asked; CSP 'wasm-unsafe-eval'),
// through the agent's own request validator and output comparison (@edgefleet/shared/browser), on
// files checked against the signed manifest. Shown next to what devices reported of their install
// preflight on the same samples: it passed (a device installs a version only when its outputs match the
// bundle's expectations, decision 0009) and how long it took. Each sample runs on its own: one that cannot
// be read or run is its own row with the error (stable code and message), the others still run.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type * as Ort from 'onnxruntime-web';
import type { DeviceInfo, DeviceList, Manifest } from '@edgefleet/shared';
import { AppError, formatCount } from '@edgefleet/shared/browser';
import { compareOutputs, parseSampleJson, parseSampleRequest, sessionRunner } from '@edgefleet/shared/browser-infer';
import { deviceTick, refetchTick, session } from '../store.js';
import { MAX_TRY_BYTES, checkedFile, readBundle, tooLargeText } from '../bundle.js';
import { Empty, ErrorBox, Loading } from '../ui/states.js';
import { Head } from '../ui/table.js';

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

/** An output's first values (the rest are counted: an output can hold millions). */
interface OutputRow { name: string; shape: readonly number[]; values: string[]; count: number }
type Expected = Array<{ name: string; shape?: number[]; data: unknown[] }>;
type SampleResult = { sample: string; ms: number; outputs: OutputRow[]; expected: OutputRow[] | null; diff: string | null } | { sample: string; error: string };

/** Values shown per output. */
const HEAD = 8;
const show = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v));
const row = (name: string, shape: readonly number[], data: { length: number; slice(a: number, b: number): ArrayLike<unknown> }): OutputRow =>
  ({ name, shape, values: Array.from(data.slice(0, HEAD), show), count: data.length });
/** `1, 2, 3` or, cut short, `1, 2, … (8 of 5000 values)`. */
const valuesText = (o: OutputRow) => (o.count > o.values.length ? `${o.values.join(', ')}, … (first ${o.values.length} of ${formatCount(o.count)} values)` : o.values.join(', '));

/** A sample's expected response: JSON with outputs that each have a name and data (compareOutputs checks the rest). */
function parseExpected(bytes: Uint8Array, path: string): Expected {
  const what = `expected response ${path}`;
  const body = parseSampleJson(bytes, what) as { outputs?: unknown };
  const ok = Array.isArray(body?.outputs) && body.outputs.length > 0 && body.outputs.every((o: { name?: unknown; data?: unknown } | null) => typeof o?.name === 'string' && Array.isArray(o.data));
  if (!ok) throw new AppError('INVALID_INPUT', `${what}: expected {"outputs": [{"name": …, "data": […]}, …]} with at least one output`);
  return body.outputs as Expected;
}

async function runSamples(bundlePath: string, manifest: Manifest): Promise<SampleResult[]> {
  const api = session.value?.api;
  if (!api) throw new Error('signed out');
  const res = await api.raw(bundlePath);
  if (!res.body) throw new AppError('BUNDLE_INVALID', 'the hub sent an empty bundle');
  const files = await readBundle(res.body);
  const model = await checkedFile(files, manifest, manifest.entrypoint);
  const m = await loadOrt();
  const s = await m.InferenceSession.create(model, { executionProviders: ['wasm'] }).catch((e: unknown) => {
    throw new AppError('MODEL_LOAD_FAILED', `onnxruntime-web could not load ${manifest.entrypoint}: ${errorText(e)}`);
  });
  try {
    const run = sessionRunner(s, (type, data, dims) => new m.Tensor(type as 'float32', data as Float32Array, dims));
    const out: SampleResult[] = [];
    for (const sm of manifest.samples ?? []) {
      try {
        const inputs = parseSampleRequest(manifest.io, sm.request, await checkedFile(files, manifest, sm.request));
        const exp = sm.expected ? parseExpected(await checkedFile(files, manifest, sm.expected), sm.expected) : null;
        const t0 = performance.now();
        // Worded as the agent's preflight words it (shared/src/infer/preflight.ts).
        const outputs = await run(inputs).catch((e: unknown) => { throw new AppError('MODEL_PREFLIGHT_FAILED', `sample ${sm.request} failed to run: ${errorText(e)}`); });
        const ms = performance.now() - t0;
        out.push({
          sample: sm.request, ms,
          outputs: outputs.map((o) => row(o.name, o.shape, o.data)),
          expected: exp ? exp.map((e) => row(e.name, e.shape ?? [], e.data.flat(Infinity))) : null,
          diff: exp ? compareOutputs(outputs, exp, sm.tolerance ?? 1e-4) ?? null : null,
        });
      } catch (e) {
        out.push({ sample: sm.request, error: errorText(e) });
      }
    }
    return out;
  } finally {
    await s.release();
  }
}

type PreflightRow = { id: string; online: boolean; status: string; pf: DeviceInfo['models'][number]['preflight'] };

/** Devices whose preflight the page shows: the first of those running the version, by id (GET /devices?version=). */
const PREFLIGHT_SHOWN = 100;

/** The devices running `name@version` with their preflight, read from the hub (the fleet view holds only its pages). */
function useRunning(name: string, version: string): { rows: PreflightRow[]; total: number } | { error: string } | null {
  const [got, setGot] = useState<{ rows: PreflightRow[]; total: number } | { error: string } | null>(null);
  // Read again after a reset, and on an event of a device it shows (or of any while it shows fewer than it could).
  const shows = (id: string) => got !== null && ('error' in got || got.rows.length < PREFLIGHT_SHOWN || got.rows.some((r) => r.id === id));
  const ev = deviceTick.value;
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (ev.id === '' || !shows(ev.id)) return;
    // A presence event says online or offline itself (the hub may not have stored it yet): applied as it says.
    if (ev.online !== undefined && got !== null && !('error' in got) && got.rows.some((r) => r.id === ev.id)) {
      const online = ev.online;
      setGot({ ...got, rows: got.rows.map((r) => (r.id === ev.id ? { ...r, online } : r)) });
    } else setTick((n) => n + 1);
  }, [ev.n]);
  const reset = refetchTick.value;
  useEffect(() => {
    const api = session.value?.api;
    if (!api) return;
    let live = true;
    api.get<DeviceList>(`/devices?${new URLSearchParams({ version: `${name}@${version}`, limit: String(PREFLIGHT_SHOWN) }).toString()}`).then((p) => {
      if (live) setGot({ total: p.total, rows: p.devices.flatMap((d) => d.models.filter((x) => x.name === name && x.version === version).map((x) => ({ id: d.id, online: d.online, status: x.status, pf: x.preflight }))) });
    }, (e: unknown) => { if (live) setGot({ error: errorText(e) }); });
    return () => { live = false; };
  }, [name, version, tick, reset]);
  return got;
}

export function TryIt({ name, version, bundlePath, size, manifest, signed }: { name: string; version: string; bundlePath: string; size: number; manifest: Manifest; signed: boolean }) {
  const [state, setState] = useState<'idle' | 'running' | { error: string } | SampleResult[]>('idle');
  const samples = manifest.samples ?? [];
  const ran = useRunning(name, version);
  if (samples.length === 0) return <Empty>This version has no samples to try (pack with <code>--sample</code>).</Empty>;
  if (manifest.encryption) return <Empty>Sealed: its files are encrypted to the devices' keys, so the console cannot run it.</Empty>;
  const tooLarge = size > MAX_TRY_BYTES;
  const why = !signed ? 'only a bundle whose signatures were verified here is run' : tooLarge ? tooLargeText() : '';
  const go = () => {
    setState('running');
    runSamples(bundlePath, manifest).then(setState, (e: unknown) => setState({ error: errorText(e) }));
  };
  return (
    <div data-testid="try-it">
      <button type="button" onClick={go} disabled={why !== '' || state === 'running'} aria-describedby={why ? 'try-it-why' : undefined}>
        {state === 'running' ? 'Running…' : `Try it: run ${samples.length} sample${samples.length === 1 ? '' : 's'} in this browser`}
      </button>
      {why ? <p class="muted" id="try-it-why" data-testid="try-it-why">Not run here: {tooLarge ? `PAYLOAD_TOO_LARGE: ${why}` : why}.</p> : null}
      {typeof state === 'object' && 'error' in state ? <p class="error" role="alert">Could not run the samples here: {state.error} <button type="button" onClick={go}>Retry</button></p> : null}
      {Array.isArray(state) ? (
        <table class="plain" aria-label="Sample results">
          <Head cols={['Sample', 'Output', 'In this browser', 'Expected', 'Verdict', 'ms']} />
          <tbody>{state.flatMap((r) => 'error' in r ? [
            <tr key={r.sample} data-sample={r.sample}><td class="mono">{r.sample}</td><td colSpan={5}><span class="error" data-testid="sample-error">{r.error}</span></td></tr>,
          ] : r.outputs.map((o, i) => {
            const e = r.expected?.find((x) => x.name === o.name);
            return (
              <tr key={r.sample + o.name} data-sample={r.sample}>
                <td class="mono">{i === 0 ? r.sample : ''}</td><td class="mono">{o.name} [{o.shape.join('×')}]</td>
                <td class="mono" data-testid="browser-output">{valuesText(o)}</td><td class="mono">{e ? valuesText(e) : '—'}</td>
                <td>{i > 0 ? '' : r.expected === null ? <span class="muted">no expectation</span> : r.diff ? <span class="error" data-testid="sample-verdict">differs: {r.diff}</span> : <span class="ok" data-testid="sample-verdict">matches</span>}</td>
                <td>{i === 0 ? r.ms.toFixed(1) : ''}</td>
              </tr>
            );
          }))}</tbody>
        </table>
      ) : null}
      <h2>Preflight on devices</h2>
      {ran === null ? <Loading what="the devices running it" /> : 'error' in ran ? <ErrorBox error={`could not read the devices running it: ${ran.error}`} />
        : ran.rows.length === 0 ? <Empty>No device reports this version (a device that refused it at preflight does not install it).</Empty> : (
        <table class="plain" aria-label="Device preflight">
          {ran.total > ran.rows.length ? <caption>the first {formatCount(ran.rows.length)} of {formatCount(ran.total)} devices running it, by id</caption> : null}
          <Head cols={['Device', 'Status', 'Preflight', 'Samples × runs', 'p50 / p95 ms']} />
          <tbody>{ran.rows.map((d) => (
            <tr key={d.id} data-device={d.id}><td class="mono"><a href={`#/devices/${encodeURIComponent(d.id)}`}>{d.id}</a></td><td>{d.status} <span class={`pill ${d.online ? 'online' : 'offline'}`}>{d.online ? 'online' : 'offline'}</span></td><td>{d.pf ? 'outputs matched the expectations' : 'not reported'}</td>
              <td>{d.pf ? `${d.pf.samples} × ${Math.round(d.pf.runs / Math.max(1, d.pf.samples))}` : '—'}</td><td>{d.pf ? `${d.pf.p50Ms.toFixed(2)} / ${d.pf.p95Ms.toFixed(2)}` : '—'}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}
