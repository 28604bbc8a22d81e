// What the two rollout forms share (views/rollout-create.tsx for a model version, views/rollout-config-create.tsx
// for a configuration; docs/console.md "Rollouts"): the hub's errors read field by field, each shown once next to
// the field it names, and the waves and gate thresholds as typed.
import { cloneElement, type ComponentChildren, type VNode } from 'preact';
import { ApiError, errorText } from '../api.js';
import type { WaveDraft } from '../../common/rollout-request.js';
import { Head } from '../ui/table.js';

/**
 * `created`: a create refused because its preview's rollout exists: the answer to an earlier create of it was lost.
 * `backend`: a BACKEND_UNSUPPORTED refusal's devices (the hub's details: the first 100) and how many there are.
 */
export type Errors = { fields: Record<string, string>; general: string[]; created?: string; backend?: BackendDevices };
type BackendDevices = { devices: Array<{ device: string; backend: string }>; total: number };
export const NO_ERRORS: Errors = { fields: {}, general: [] };

/** A zod issue as the hub sends it in `details`: a record key's own issues say what was expected ("Invalid key in record" does not). */
type Issue = { path?: Array<string | number>; message?: string; issues?: Issue[] };
const issueText = (i: Issue): string => (i.issues?.length ? i.issues.map(issueText).join('; ') : i.message ?? '');

/** The hub's error, field by field: zod issues' paths written as the hub writes them (waves[0].percent), or a "field: ..." message. */
export function errorsOf(err: unknown): Errors {
  if (!(err instanceof ApiError)) return { fields: {}, general: [errorText(err)] };
  const out: Errors = { fields: {}, general: [] };
  const issues = Array.isArray(err.details) ? err.details as Issue[] : [];
  for (const i of issues) {
    const key = (i.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') || '(root)';
    out.fields[key] = out.fields[key] ? `${out.fields[key]}; ${issueText(i)}` : issueText(i);
  }
  const d = err.code === 'BACKEND_UNSUPPORTED' ? err.details as { devices?: BackendDevices['devices']; total?: number } | undefined : undefined;
  if (Array.isArray(d?.devices)) out.backend = { devices: d.devices, total: typeof d.total === 'number' ? d.total : d.devices.length };
  const existing = err.code === 'CONFLICT' ? /^id: rollout (ro-[0-9a-f]+) exists already/.exec(err.message)?.[1] : undefined;
  if (existing) return { ...out, created: existing };
  if (!issues.length) {
    const m = /^([a-zA-Z]+(?:\.[a-zA-Z]+|\[\d+\])*): (.*)$/.exec(err.message);
    if (m && m[1] && m[2]) out.fields[m[1]] = m[2];
    else out.general.push(errorText(err));
  }
  return out;
}

/**
 * The hub's errors not tied to a field, each rollout one names a link to its page: a create refused as another
 * rollout is active over the same devices (`CONFLICT: rollout ro-… is active over the same devices …: abort it or
 * wait for it to finish`) opens it in a click.
 */
export function GeneralErrors({ list }: { list: string[] }) {
  return <>{list.map((m) => <p key={m} class="error" role="alert">{m.split(/\b(ro-[0-9a-f]{6,})\b/).map((x, i) => (i % 2 ? <a key={i} href={`#/rollouts/${x}`}>{x}</a> : x))}</p>)}</>;
}

/**
 * Every device a BACKEND_UNSUPPORTED refusal lists, in a scrolling list under the count (the message names three;
 * docs/decisions/0129-model-backends-checked.md), and how many more the hub did not list; with `override`, the
 * checkbox that sends the request again with allowBackendMismatch (those boxes get the version whatever their backend).
 */
export function BackendRefusal({ b, override }: { b: BackendDevices; override?: { on: boolean; set(on: boolean): void } }): ComponentChildren {
  const more = b.total - b.devices.length;
  return (
    <div class={override?.on ? 'panel' : 'error'} data-testid="backend-devices">
      <p>{b.total.toLocaleString('en-US')} device{b.total === 1 ? '' : 's'} of the target run a backend that cannot load this version{more > 0 ? ` (the hub lists the first ${b.devices.length})` : ''}:</p>
      <ul aria-label="Devices whose backend cannot load it" style={{ maxHeight: '12em', overflowY: 'auto' }}>
        {b.devices.map((x) => <li key={x.device}><a href={`#/devices/${encodeURIComponent(x.device)}`}>{x.device}</a> ({x.backend})</li>)}
      </ul>
      {more > 0 ? <p>and {more.toLocaleString('en-US')} more, not listed: each device's page (and <code>edgefleet devices show ID</code>) says its backend.</p> : null}
      {override ? <label class="check"><input id="ro-backend-mismatch" type="checkbox" checked={override.on} onChange={(e) => override.set(e.currentTarget.checked)} />
        {' '}Send it also to the {b.total === 1 ? 'box' : `${b.total.toLocaleString('en-US')} boxes`} whose backend cannot load it (when you know {b.total === 1 ? 'it does' : 'they do'}: allowBackendMismatch)</label> : null}
    </div>
  );
}

/** What marks a field its error (by id) describes. */
const invalid = (id: string) => ({ 'aria-invalid': 'true' as const, 'aria-describedby': id });

type Err = (field: string, exact?: boolean, id?: string) => ComponentChildren;
type Field = (id: string, label: string, input: ComponentChildren, errKey?: string, exact?: boolean) => ComponentChildren;

/**
 * Each error once, next to the field it names (a fieldset shows its fields' others; `*`, at the form's end, any left). Made once per render.
 * A field's own error (`id`) describes it and marks it invalid, so a screen reader says it when the field has the focus.
 */
export function fieldErrors(errors: Errors): { err: Err; field: Field } {
  const shown = new Set<string>();
  const err: Err = (field, exact = false, id) => {
    const m = Object.entries(errors.fields).filter(([k]) => !shown.has(k) && (k === field || (!exact && k.startsWith(`${field}.`)) || field === '*'));
    m.forEach(([k]) => shown.add(k));
    return m.length ? <span id={id} class="field-error" role="alert" data-field={field === '*' ? 'other' : field}>{m.map(([k, v]) => `${k}: ${v}`).join('; ')}</span> : null;
  };
  const field: Field = (id, label, input, errKey = id, exact = false) => {
    const e = err(errKey, exact, `ro-${id}-error`);
    return <div class="field"><label for={`ro-${id}`}>{label}</label>{e ? cloneElement(input as VNode, invalid(`ro-${id}-error`)) : input}{e}</div>;
  };
  return { err, field };
}

/** The waves as typed (at most 10), called as a function where it stands in the form (not a component, which would render after the form's last err('*') took its errors); `remove` also clears the errors named by wave index, which would name another wave now. */
export function wavesFieldset({ waves, set, remove, err }: { waves: WaveDraft[]; set(waves: WaveDraft[]): void; remove(i: number): void; err: Err }) {
  const setWave = (i: number, k: keyof WaveDraft, v: string) => set(waves.map((w, j) => (j === i ? { ...w, [k]: v } : w)));
  return (
          <fieldset><legend>Waves (cumulative percent, the last reaching 100; a staging ring takes the target's devices with its tags, before the percent waves)</legend>
            <table class="plain" aria-label="Waves to create"><Head cols={['Name', 'Ring (tags)', 'Percent', 'Min devices', 'Bake (s)', '']} />
              <tbody>{waves.map((w, i) => (
                <tr key={i}>
                  {(['name', 'ring', 'percent', 'minDevices', 'bakeSec'] as const).map((k) => (
                    <td key={k}>{((e) => <>
                      <input aria-label={`Wave ${i + 1} ${k}`} {...(e ? invalid(`wave-${i}-${k}-error`) : {})} class={k === 'ring' ? '' : 'narrow'} value={w[k]} placeholder={k === 'ring' ? 'ring=canary' : ''}
                        disabled={k === 'percent' && w.ring.trim() !== ''} title={k === 'percent' && w.ring.trim() !== '' ? 'a staging ring takes its devices by tags' : undefined}
                        onInput={(e) => setWave(i, k, e.currentTarget.value)} />
                      {e}</>)(err(`waves[${i}].${k === 'ring' ? 'tags' : k}`, false, `wave-${i}-${k}-error`))}
                    </td>
                  ))}
                  <td>{waves.length > 1 ? <button type="button" onClick={() => remove(i)} aria-label={`Remove wave ${i + 1}`}>Remove</button> : null}</td>
                </tr>
              ))}</tbody>
            </table>
            {err('waves')}
            {waves.length < 10 ? <button type="button" onClick={() => set([...waves, { name: '', ring: '', percent: '100', minDevices: '', bakeSec: '0' }])}>Add wave</button> : null}
          </fieldset>
  );
}

/** Gate threshold overrides (empty: the hub's default, shown as the placeholder). */
export function gatesFieldset({ keys, gates, set, field }: { keys: ReadonlyArray<readonly [string, string]>; gates: Partial<Record<string, string>>; set(gates: Partial<Record<string, string>>): void; field: Field }) {
  return (
          <fieldset><legend>Gate thresholds (empty: the default)</legend>
            <div class="fields">{keys.map(([k, def]) => field(`gate-${k}`, k, <input id={`ro-gate-${k}`} class="narrow" placeholder={def} value={gates[k] ?? ''} onInput={(e) => set({ ...gates, [k]: e.currentTarget.value })} />, `gates.${k}`))}</div>
          </fieldset>
  );
}
