// The operator's "New configuration rollout" form (docs/rollouts.md "Configuration rollouts", docs/console.md
// "Rollouts"): a scope (fleet, tag/K=V, device/ID), its next document as key=value lines (loaded from the scope's
// newest version, GET /config/{scope}, so a setting not edited is kept, as `edgefleet config set --rollout`
// keeps it), the waves, gate thresholds, advance, on failure and the reason: POST /rollouts/config. The hub checks
// everything; its errors are shown next to the field it names (settings, waves[0].percent, scope, ...).
import { useEffect, useState } from 'preact/hooks';
import type { ConfigDocumentInfo, Rollout } from '@edgefleet/shared';
import { CONFIG_GATES, DEFAULT_WAVES, configRolloutRequest, settingsText, type ConfigDraft } from '../../common/rollout-request.js';
import { errorText } from '../api.js';
import { can, session } from '../store.js';
import { go } from '../nav.js';
import { background } from '../background.js';
import { Busy, Empty } from '../ui/states.js';
import { NO_ERRORS, errorsOf, fieldErrors, gatesFieldset, wavesFieldset, type Errors, GeneralErrors } from './rollout-fields.js';

/** GET/PUT path of a scope as the rollout names it: `fleet`, `tag/site=north`, `device/edge-1`; null for anything else. */
export function scopePath(scope: string): string | null {
  const s = scope.trim();
  if (s === 'fleet') return '/config/fleet';
  const m = /^(tag\/)([^=]+=.*)$/.exec(s) ?? /^(device\/)(.+)$/.exec(s);
  return m?.[1] && m[2] ? `/config/${m[1]}${encodeURIComponent(m[2])}` : null;
}

/** The request's own fields as the hub names them; any other field it names is a setting's key. */
const OWN_FIELDS = /^(scope|settings|waves|gates|advance|onFailure|reason|id|\(root\))(\.|\[|$)/;

type Loaded = { scope: string; version: number } | { scope: string; error: string } | null;

export function ConfigRolloutCreateView() {
  const api = session.value?.api;
  const [d, setD] = useState<ConfigDraft>({ scope: 'fleet', settings: '', gates: {}, advance: 'auto', onFailure: 'rollback', reason: '', waves: DEFAULT_WAVES });
  const [loaded, setLoaded] = useState<Loaded>(null);
  const [errors, setErrors] = useState<Errors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const path = scopePath(d.scope);
  // The scope's newest document fills the settings (once per scope typed: what was edited is not replaced).
  useEffect(() => {
    if (!api || !path) return;
    const scope = d.scope.trim();
    const t = setTimeout(() => {
      api.get<ConfigDocumentInfo>(path).then(
        (doc) => { setLoaded({ scope, version: doc.version }); setD((x) => (x.scope.trim() === scope ? { ...x, settings: settingsText(doc.settings) } : x)); },
        (e: unknown) => setLoaded({ scope, error: errorText(e) }));
    }, 300);
    return () => clearTimeout(t);
  }, [path]);
  if (!can('operator')) return <Empty>Creating a rollout needs the operator role.</Empty>;
  const { body, problems } = configRolloutRequest(d);
  const set = (patch: Partial<ConfigDraft>) => setD({ ...d, ...patch });
  const { err, field } = fieldErrors(errors);
  const removeWave = (i: number) => {
    set({ waves: d.waves.filter((_, j) => j !== i) });
    setErrors({ ...errors, fields: Object.fromEntries(Object.entries(errors.fields).filter(([k]) => !k.startsWith('waves['))) });
  };
  const create = async () => {
    // What cannot be sent as typed is refused here, on its field; the hub checks the rest.
    if (!path) { setErrors({ fields: { scope: `expected fleet, tag/KEY=VALUE or device/ID, got "${d.scope.trim()}"` }, general: [] }); return; }
    if (Object.keys(problems).length) { setErrors({ fields: problems, general: [] }); return; }
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const r = await api!.send<Rollout>('POST', '/rollouts/config', body);
      go(`#/rollouts/${r.id}`);
    } catch (e) {
      // A setting the hub refuses is named by its key (CONFIG_INVALID `summaries.windowSec: …`): shown under the settings.
      const x = errorsOf(e);
      setErrors({ ...x, fields: Object.fromEntries(Object.entries(x.fields).map(([k, v]) => [OWN_FIELDS.test(k) ? k : `settings.${k}`, v])) });
    } finally {
      setBusy(false);
    }
  };
  const doc = loaded && loaded.scope === d.scope.trim() ? loaded : null;
  return (
    <section aria-labelledby="rocfg-h">
      <div class="h1row"><h1 id="rocfg-h">New configuration rollout</h1><a href="#/rollouts" class="muted">back to rollouts</a></div>
      <form class="panel roform" aria-label="New configuration rollout" onSubmit={(e) => { e.preventDefault(); background(create()); }}>
        <div class="fields">
          {field('scope', 'Scope', <input id="ro-scope" placeholder="fleet, tag/site=north or device/edge-1" value={d.scope} onInput={(e) => set({ scope: e.currentTarget.value })} />)}
          {field('advance', 'Advance', <select id="ro-advance" value={d.advance} onChange={(e) => set({ advance: e.currentTarget.value as ConfigDraft['advance'] })}><option value="auto">auto</option><option value="manual">manual (promote each wave)</option></select>)}
          {field('onFailure', 'On failure', <select id="ro-onFailure" value={d.onFailure} onChange={(e) => set({ onFailure: e.currentTarget.value as ConfigDraft['onFailure'] })}><option value="rollback">roll back (write the previous document back)</option><option value="pause">pause</option></select>)}
        </div>
        <p class="muted" data-testid="config-doc">{!path ? 'A scope is fleet, tag/KEY=VALUE or device/ID.'
          : !doc ? 'Loading the scope\'s document…'
          : 'error' in doc ? `could not load the scope's document: ${doc.error}`
          : doc.version === 0 ? `${doc.scope} has no document yet: these settings become its version 1.`
          : `${doc.scope} is at version ${doc.version}, its settings below: the rollout's new version holds exactly the settings below as edited.`}</p>
        {field('settings', 'Settings (key=value, one a line; a value is JSON when it parses)', <textarea id="ro-settings" rows={6} cols={70} class="mono" placeholder="summaries.windowSec=30" value={d.settings} onInput={(e) => set({ settings: e.currentTarget.value })} />)}
        {wavesFieldset({ waves: d.waves, set: (waves) => set({ waves }), remove: removeWave, err })}
        {gatesFieldset({ keys: CONFIG_GATES, gates: d.gates, set: (gates) => set({ gates }), field })}
        <div class="fields">{field('reason', 'Reason', <input id="ro-reason" class="wide" value={d.reason} onInput={(e) => set({ reason: e.currentTarget.value })} />)}</div>
        <GeneralErrors list={errors.general} />
        {err('*')}
        <div class="toolbar"><button type="submit" disabled={busy}>Create configuration rollout</button><Busy what={busy && 'Create configuration rollout'} /></div>
      </form>
    </section>
  );
}
