// The operator's "New rollout" form (docs/rollouts.md "The rollout resource"): model and version (a version
// not trusted, signed by rotated-out keys, or whose bundle was dropped, is listed disabled: the hub refuses it), a
// target (all, tags or devices), the waves (percents or staging rings), gate overrides, an optional shadow stage, a
// maintenance window, advance, on
// failure and the reason. Preview asks the hub which devices each wave would take (POST /rollouts/preview, the same code as create);
// Create sends the previewed id when nothing changed since, so the waves take exactly those devices.
// Refused with BACKEND_UNSUPPORTED, the form lists the boxes and offers the override (allowBackendMismatch,
// docs/decisions/0129-model-backends-checked.md) for that request as it stands: changed, the override is gone.
// The hub checks everything: its errors are shown next to the field it names (waves[0].percent, ...).
import { useEffect, useState } from 'preact/hooks';
import type { Rollout, RolloutPreview } from '@edgefleet/shared';
import { DEFAULT_WAVES, GATES, SHADOW, rolloutRequest, type Draft } from '../../common/rollout-request.js';
import { BackendRefusal, NO_ERRORS, errorsOf, fieldErrors, gatesFieldset, wavesFieldset, type Errors, GeneralErrors } from './rollout-fields.js';
import { can, loadModels, models, session } from '../store.js';
import { go } from '../nav.js';
import { background } from '../background.js';
import { Busy, Empty } from '../ui/states.js';
import { ModelsLoad, SIGNED_BY_ROTATED_OUT, notDeployable } from './model-state.js';
import { formatCount } from '@edgefleet/shared/browser';
import { Head } from '../ui/table.js';

export function RolloutCreateView() {
  const api = session.value?.api;
  const list = models.value;
  useEffect(() => { if (list === null) background(loadModels()); }, []);
  const [d, setD] = useState<Draft>({
    model: '', version: '', target: 'all', tags: '', devices: '', gates: {}, advance: 'auto', onFailure: 'rollback', reason: '',
    waves: DEFAULT_WAVES, shadow: { on: false }, window: { cron: '', duration: '', timeZone: '' },
  });
  const [errors, setErrors] = useState<Errors>(NO_ERRORS);
  const [preview, setPreview] = useState<{ for: string; p: RolloutPreview } | null>(null);
  const [busy, setBusy] = useState<'preview' | 'create' | null>(null);
  // The last BACKEND_UNSUPPORTED refusal, for the request it refused (`for`), and whether the operator overrides it.
  const [override, setOverride] = useState<{ for: string; b: NonNullable<Errors['backend']>; on: boolean } | null>(null);
  if (!can('operator')) return <Empty>Creating a rollout needs the operator role.</Empty>;
  const page = (state: preact.JSX.Element) => (
    <section aria-labelledby="ronew-h">
      <div class="h1row"><h1 id="ronew-h">New rollout</h1><a href="#/rollouts" class="muted">back to rollouts</a></div>
      {state}
    </section>
  );
  if (!Array.isArray(list)) return page(<ModelsLoad />);
  const assignable = list.filter((v) => !v.deprecated);
  // A version no current release key signed, or whose bundle was dropped, is listed but cannot be picked: the hub
  // refuses it (VERSION_NOT_TRUSTED, BUNDLE_DROPPED).
  const trusted = assignable.filter((v) => notDeployable(v) === null);
  const names = [...new Set([...trusted, ...assignable].map((v) => v.name))];
  if (!names.length) {
    return page(<Empty>No version to roll out: {list.length ? `each of the hub's ${list.length} version(s) is deprecated` : 'the hub holds no model'}.
      Push one (<code>edgefleet model push BUNDLE</code>), then start the rollout here.</Empty>);
  }
  const model = d.model || names[0] || '';
  const versions = assignable.filter((v) => v.name === model);
  const pickable = trusted.filter((v) => v.name === model).map((v) => v.version);
  const draft: Draft = { ...d, model, version: d.version && pickable.includes(d.version) ? d.version : (pickable.at(-1) ?? '') };
  const { body, problems } = rolloutRequest(draft);
  const { reason: _reason, ...shape } = body;
  const refusedKey = JSON.stringify(shape);
  const over = override?.for === refusedKey ? override : null;
  const mismatch = over?.on ? { allowBackendMismatch: true } : {};
  const key = JSON.stringify({ ...shape, ...mismatch });
  const set = (patch: Partial<Draft>) => setD({ ...draft, ...patch });
  // The waves after it move up a row: errors the hub gave by wave index (waves[2].percent) would name another wave now.
  const removeWave = (i: number) => {
    set({ waves: draft.waves.filter((_, j) => j !== i) });
    setErrors({ ...errors, fields: Object.fromEntries(Object.entries(errors.fields).filter(([k]) => !k.startsWith('waves['))) });
  };
  const { err, field } = fieldErrors(errors);
  const run = async (what: 'preview' | 'create') => {
    // What cannot be sent as typed is refused here, on its field; the hub checks the rest.
    if (Object.keys(problems).length) { setErrors({ fields: problems, general: [] }); return; }
    setBusy(what);
    setErrors(NO_ERRORS);
    try {
      if (what === 'preview') {
        const p = await api!.send<RolloutPreview>('POST', '/rollouts/preview', { ...shape, ...mismatch, ...(draft.reason.trim() ? { reason: draft.reason } : {}) });
        setPreview({ for: key, p });
      } else {
        const id = preview?.for === key ? { id: preview.p.id } : {};
        const r = await api!.send<Rollout>('POST', '/rollouts', { ...id, ...body, ...mismatch });
        go(`#/rollouts/${r.id}`);
      }
    } catch (e) {
      const got = errorsOf(e);
      setErrors(got);
      if (got.backend) setOverride({ for: refusedKey, b: got.backend, on: over?.on ?? false });
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="ronew-h">
      <div class="h1row"><h1 id="ronew-h">New rollout</h1><a href="#/rollouts" class="muted">back to rollouts</a></div>
      <ModelsLoad />
      <form class="panel roform" aria-label="New rollout" onSubmit={(e) => { e.preventDefault(); background(run('create')); }}>
        <div class="fields">
          {field('model', 'Model', <select id="ro-model" value={model} onChange={(e) => set({ model: e.currentTarget.value, version: '' })}>{names.map((n) => <option key={n}>{n}</option>)}</select>)}
          {field('version', 'Version', <select id="ro-version" value={draft.version} onChange={(e) => set({ version: e.currentTarget.value })}>
            {versions.map((v) => (notDeployable(v)
              ? <option key={v.version} value={v.version} disabled title={notDeployable(v) ?? ''}>{v.version} ({v.bundleDropped ? 'bundle dropped' : `not trusted: ${SIGNED_BY_ROTATED_OUT}`})</option>
              : <option key={v.version} value={v.version}>{v.version}</option>))}</select>)}
          {model && !pickable.length && versions.length ? <p class="error" role="alert" data-testid="no-trusted-version">No version of {model} can be rolled out: each is {SIGNED_BY_ROTATED_OUT} or its bundle was dropped.</p> : null}
          {field('target', 'Target', <select id="ro-target" value={draft.target} onChange={(e) => set({ target: e.currentTarget.value as Draft['target'] })}>
            <option value="all">all devices</option><option value="tags">devices with tags</option><option value="devices">listed devices</option></select>, 'target', true)}
          {draft.target === 'tags' ? field('tags', 'Tags', <input id="ro-tags" placeholder="site=north ring=a" value={draft.tags} onInput={(e) => set({ tags: e.currentTarget.value })} />, 'target.tags') : null}
          {draft.target === 'devices' ? field('devices', 'Devices', <input id="ro-devices" placeholder="edge-1, edge-2" value={draft.devices} onInput={(e) => set({ devices: e.currentTarget.value })} />, 'target.devices') : null}
          {field('advance', 'Advance', <select id="ro-advance" value={draft.advance} onChange={(e) => set({ advance: e.currentTarget.value as Draft['advance'] })}><option value="auto">auto</option><option value="manual">manual (promote each wave)</option></select>)}
          {field('onFailure', 'On failure', <select id="ro-onFailure" value={draft.onFailure} onChange={(e) => set({ onFailure: e.currentTarget.value as Draft['onFailure'] })}><option value="rollback">roll back</option><option value="pause">pause</option></select>)}
        </div>
        {wavesFieldset({ waves: draft.waves, set: (waves) => set({ waves }), remove: removeWave, err })}
        {gatesFieldset({ keys: GATES, gates: draft.gates, set: (gates) => set({ gates }), field })}
        <fieldset><legend>Shadow stage</legend>
          <label class="check"><input id="ro-shadow" type="checkbox" checked={draft.shadow.on} onChange={(e) => set({ shadow: { ...draft.shadow, on: e.currentTarget.checked } })} />
            {' '}Start with a shadow stage (the first wave runs the candidate in shadow, answering as before; nothing switches until it agrees)</label>
          {draft.shadow.on ? (
            <div class="fields">{SHADOW.map(([k, def, hint]) => field(`shadow-${k}`, `shadow ${k}`, <input id={`ro-shadow-${k}`} class="narrow" placeholder={def} title={hint} value={draft.shadow[k] ?? ''} onInput={(e) => set({ shadow: { ...draft.shadow, [k]: e.currentTarget.value } })} />, `shadow.${k}`))}</div>
          ) : null}
          {err('shadow')}
        </fieldset>
        <fieldset><legend>Maintenance window (empty: devices switch when told)</legend>
          <div class="fields">
            {field('window-cron', 'Window cron', <input id="ro-window-cron" placeholder="0 2 * * *" value={draft.window.cron} onInput={(e) => set({ window: { ...draft.window, cron: e.currentTarget.value } })} />, 'window.cron')}
            {field('window-duration', 'Window duration', <input id="ro-window-duration" class="narrow" placeholder="2h" value={draft.window.duration} onInput={(e) => set({ window: { ...draft.window, duration: e.currentTarget.value } })} />, 'window.durationSec')}
            {field('window-tz', 'Window time zone', <input id="ro-window-tz" placeholder="UTC" value={draft.window.timeZone} onInput={(e) => set({ window: { ...draft.window, timeZone: e.currentTarget.value } })} />, 'window.timeZone')}
          </div>
          {err('window')}
        </fieldset>
        <div class="fields">{field('reason', 'Reason', <input id="ro-reason" class="wide" value={draft.reason} onInput={(e) => set({ reason: e.currentTarget.value })} />)}</div>
        <GeneralErrors list={errors.general} />
        {over ? <BackendRefusal b={over.b} override={{ on: over.on, set: (on) => setOverride({ ...over, on }) }} /> : null}
        {errors.created ? <p class="error" role="alert" data-testid="created-already">This preview's rollout was created already (the answer to that create did not arrive): <a href={`#/rollouts/${errors.created}`}>open rollout {errors.created}</a>, or preview again for another.</p> : null}
        {err('id')}{err('*')}
        <div class="toolbar">
          <button type="button" disabled={!!busy || !model} onClick={() => background(run('preview'))}>Preview waves</button>
          <button type="submit" disabled={!!busy || !model}>Create rollout</button>
          <Busy what={busy && (busy === 'preview' ? 'Preview' : 'Create rollout')} />
          {preview && preview.for !== key ? <span class="muted">changed since the preview: preview again to keep its devices</span> : null}
        </div>
      </form>
      {preview ? <Preview p={preview.p} stale={preview.for !== key} /> : null}
    </section>
  );
}

function Preview({ p, stale }: { p: RolloutPreview; stale: boolean }) {
  return (
    <div class={`panel${stale ? ' stale' : ''}`} data-testid="rollout-preview">
      <h2>Preview: {p.model} {p.fromVersion ?? '(none)'} → {p.version} over {formatCount(p.devices)} device{p.devices === 1 ? '' : 's'} (id {p.id})</h2>
      <table class="plain" aria-label="Previewed waves">
        <Head cols={['Wave', 'Share', 'Devices', 'Adds', 'Bake']} />
        <tbody>{p.waves.map((w) => (
          <tr key={w.name} data-wave={w.name}>
            <td>{w.name}</td><td>{w.tags ? `ring ${Object.entries(w.tags).map(([k, v]) => `${k}=${v}`).join(', ')}` : `${w.percent ?? 0}%`}</td><td>{w.devices ? formatCount(w.devices) : <span class="warn" data-testid="preview-none">none yet: it waits for a device joining the target (gates.stuckSec pauses it)</span>}</td>
            <td class="mono">{w.joining.map((j) => `${j.deviceId}${j.previous ? ` (${j.previous})` : ''}`).join(', ') || '—'}{w.joiningCount > w.joining.length ? ` and ${formatCount(w.joiningCount - w.joining.length)} more` : ''}</td>
            <td>{w.bakeSec}s</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}
