// The operator's "Add rule" form: name, metric, model (and version), tag scope, threshold, for,
// keep firing for, window and severity. Webhook actions carry a secret and are added with the CLI
// (`edgefleet alerts rules add --webhook URL --secret S`); the hub checks everything and its error
// is shown as it is.
import { useState } from 'preact/hooks';
import type { AlertMetric } from '@edgefleet/shared';
import { alertCondition } from '@edgefleet/shared/browser';
import { session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { parseTags } from '../../common/tag-text.js';

/** A number field as typed: empty is the hub's default (undefined) unless required; anything else must be a number. */
function numberField(label: string, text: string, required = false): number | undefined {
  const t = text.trim();
  if (t === '') {
    if (required) throw new Error(`${label}: expected a number`);
    return undefined;
  }
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`${label}: expected a number, got "${t}"`);
  return n;
}

/** What the typed threshold means for the chosen metric: "breached while < 0.1 (10%)". */
function conditionHint(metric: AlertMetric, text: string): string {
  const n = Number(text.trim());
  return text.trim() === '' || !Number.isFinite(n) ? '' : `breached while ${alertCondition(metric, n)}`;
}

const METRICS: AlertMetric[] = ['drift.psi', 'model_error_rate', 'latency_p95', 'devices_offline', 'invalid_input_rate', 'rollout_failed', 'accuracy', 'disk_free'];

export function AddRule({ onAdded }: { onAdded(): void }) {
  const api = session.value?.api;
  const [f, setF] = useState({ name: '', metric: 'drift.psi' as AlertMetric, model: '', version: '', tag: '', threshold: '0.2', forSec: '0', keepFiringForSec: '0', windowH: '1', severity: 'warning' });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const input = (k: keyof typeof f, label: string, placeholder = '') => (
    <><label for={`rule-${k}`}>{label}</label><input id={`rule-${k}`} type="text" placeholder={placeholder} value={f[k]} onInput={set(k)} /></>
  );
  const extra = (
    <div class="toolbar">
      {input('name', 'Name')}
      <label for="rule-metric">Metric</label>
      <select id="rule-metric" value={f.metric} onChange={set('metric')}>{METRICS.map((m) => <option key={m} value={m}>{m}</option>)}</select>
      {input('model', 'Model')}{input('version', 'Version', 'any')}{input('tag', 'Tags', 'site=north ring=a')}
      {input('threshold', 'Threshold')}<span class="muted" data-testid="rule-condition">{conditionHint(f.metric, f.threshold)}</span>{input('forSec', 'For (s)')}{input('keepFiringForSec', 'Keep firing (s)')}{input('windowH', 'Window (h)')}
      <label for="rule-severity">Severity</label>
      <select id="rule-severity" value={f.severity} onChange={set('severity')}>{['info', 'warning', 'critical'].map((s) => <option key={s} value={s}>{s}</option>)}</select>
    </div>
  );
  return (
    <div class="actions">
      <ActionForm label="Add rule" extra={extra} run={async (reason) => {
        const tags = parseTags(f.tag);
        const windowH = numberField('Window (h)', f.windowH);
        const optional = { forSec: numberField('For (s)', f.forSec), keepFiringForSec: numberField('Keep firing (s)', f.keepFiringForSec), windowSec: windowH === undefined ? undefined : Math.round(windowH * 3600) };
        const body = {
          name: f.name.trim(), metric: f.metric, threshold: numberField('Threshold', f.threshold, true), severity: f.severity,
          ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
          ...(f.model.trim() ? { model: f.model.trim() } : {}), ...(f.version.trim() ? { version: f.version.trim() } : {}),
          ...(Object.keys(tags).length ? { scope: { tags } } : {}), ...(reason ? { reason } : {}),
        };
        const r = await api?.send<{ id: number }>('POST', '/alert-rules', body);
        onAdded();
        return `added rule ${r?.id ?? ''}`;
      }} />
    </div>
  );
}
