// Alerts (docs/drift.md "Alerts", docs/console.md): firing, pending and resolved alerts with a state
// filter and who acknowledged each (an operator acknowledges a firing one with a reason, or takes that back: POST /alerts/{id}/unack), one alert's webhook deliveries with every attempt, and the rules; an operator adds a rule
// or removes one with a reason (a viewer sees no write action). Refreshed on the stream's `alert`
// events and on a modest interval (evaluation happens on the hub's schedule, not on a click).
import { useEffect, useState } from 'preact/hooks';
import type { Alert, AlertRule, Delivery } from '@edgefleet/shared';
import { alertCondition, alertValueText } from '@edgefleet/shared/browser';
import { alertTick, can, refetchTick, session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { Empty, Loading, RefetchFailed, time } from '../ui/states.js';
import { Age } from '../ui/age.js';
import { AddRule } from './alerts-rule.js';
import { useRefetched } from '../ui/refetched.js';
import { Head } from '../ui/table.js';
import { Said, useAnnounce } from '../ui/announce.js';

const REFRESH_MS = 15_000;
const STATES = ['', 'firing', 'pending', 'resolved'] as const;

/** Re-renders every REFRESH_MS while mounted. */
function useInterval(): number {
  const [n, setN] = useState(0);
  useEffect(() => { const t = setInterval(() => setN((x) => x + 1), REFRESH_MS); return () => clearInterval(t); }, []);
  return n;
}

/**
 * Acknowledge and Un-acknowledge, each drawn whatever the alert's state (closed, only the one that applies shows its button):
 * its own answer stays beside it, and a form open when the alert resolves or another operator acknowledges it (or takes
 * that back) stays, saying why it sends nothing (docs/decisions/0147-console-action-gone-under-open-form.md).
 */
function AckActions({ a }: { a: Alert }) {
  const api = session.value?.api;
  const k = a.acknowledged;
  const not = a.state !== 'firing' ? `alert ${a.id} is ${a.state}` : undefined;
  const send = (what: string, said: string) => async (reason: string) => { await api?.send('POST', `/alerts/${a.id}/${what}`, { reason }); return said; };
  return (
    <>
      <ActionForm label={`Acknowledge alert ${a.id}`} reasonRequired gone={not ?? (k ? `alert ${a.id} was acknowledged by ${k.by} at ${time(k.at)}: ${k.reason}` : undefined)} run={send('ack', 'acknowledged')} />
      <ActionForm label={`Un-acknowledge alert ${a.id}`} reasonRequired gone={not ?? (k ? undefined : `alert ${a.id} is no longer acknowledged`)} run={send('unack', 'not taken again')} />
    </>
  );
}

/** The list's alerts that started or stopped firing from `was` to `now` (`Alert 3 fired: low disk on box-b. 1 firing`), said once (ui/announce.tsx). */
export function alertsChange(was: Alert[], now: Alert[]): string | null {
  const firing = (l: Alert[]) => new Map(l.filter((a) => a.state === 'firing').map((a) => [a.id, a]));
  const [before, after] = [firing(was), firing(now)];
  const said = [...after.values()].filter((a) => !before.has(a.id)).map((a) => `Alert ${a.id} fired: ${a.rule} on ${a.key}`);
  // One no longer in the list (another filter's) is said no longer firing: the list does not say it resolved.
  for (const a of before.values()) if (!after.has(a.id)) said.push(`Alert ${a.id} ${now.find((x) => x.id === a.id)?.state === 'resolved' ? 'resolved' : 'no longer firing'}: ${a.rule} on ${a.key}`);
  return said.length ? `${said.join('. ')}. ${after.size || 'None'} firing` : null;
}

export function AlertsView({ id }: { id?: string }) {
  const api = session.value?.api;
  const tick = useInterval();
  const [state, setState] = useState<(typeof STATES)[number]>('');
  const [rulesTick, setRulesTick] = useState(0);
  // A refetch that fails (every REFRESH_MS, on events) keeps the lists shown, marked, with Retry (ui/refetched.ts).
  const alerts = useRefetched(() => api!.get<{ alerts: Alert[] }>(`/alerts?limit=500${state ? `&state=${state}` : ''}`).then((r) => r.alerts),
    [tick, rulesTick, alertTick.value, refetchTick.value], state);
  const rules = useRefetched(() => api!.get<{ rules: AlertRule[] }>('/alert-rules').then((r) => r.rules), [rulesTick, alertTick.value, refetchTick.value]);
  const firing = alerts.value ? alerts.value.filter((a) => a.state === 'firing').length : 0;
  const said = useAnnounce(alerts.value, state, alertsChange);
  return (
    <section aria-labelledby="alerts-h">
      <Said said={said.said} />
      <h1 id="alerts-h">Alerts {firing > 0 ? <span class="pill revoked" data-testid="firing-count">{firing} firing</span> : null}</h1>
      <div class="toolbar">
        <label for="alerts-state">State</label>
        <select id="alerts-state" value={state} onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value as (typeof STATES)[number])}>
          {STATES.map((s) => <option key={s} value={s}>{s || 'all'}</option>)}
        </select>
      </div>
      <RefetchFailed what="the alerts" r={alerts} />
      {!alerts.value ? (alerts.error ? null : <Loading what="alerts" />) : alerts.value.length === 0
        ? <Empty>{state ? `No ${state} alert.` : 'No alert.'} Rules are evaluated on the hub's schedule.</Empty> : (
          <table class="plain" aria-label="Alerts">
            <Head cols={['#', 'Rule', 'About', 'State', 'Severity', 'Value / breached when', 'Since', 'Fired', 'Resolved', 'Report', 'Taken']} />
            <tbody>{alerts.value.map((a) => (
              <tr key={a.id} class={String(a.id) === id ? 'selected' : ''} data-alert={a.id}>
                <td><a href={`#/alerts/${a.id}`} aria-label={`alert ${a.id} deliveries`}>{a.id}</a></td><td>{a.rule}</td><td class="mono">{a.key}</td>
                <td><span class={`pill al-${a.state}`}>{a.state}</span></td><td><span class={`pill sev-${a.severity}`}>{a.severity}</span></td>
                <td class="mono">{a.value === null ? '—' : alertValueText(a.metric, a.value)} / {alertCondition(a.metric, a.threshold)}</td><td><Age at={a.startedAt} /></td>
                <td data-testid="alert-fired">{a.firedAt ? <Age at={a.firedAt} /> : '—'}</td><td>{time(a.resolvedAt)}</td><td>{a.reportId ?? ''}</td>
                <td>{a.acknowledged ? <span title={`${time(a.acknowledged.at)}: ${a.acknowledged.reason}`}>acknowledged by {a.acknowledged.by} <Age at={a.acknowledged.at} /></span> : null}
                  {can('operator') ? <AckActions a={a} /> : null}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      {id ? <Deliveries id={id} tick={tick} /> : null}
      <div class="panel">
        <h2>Rules</h2>
        <RefetchFailed what="the alert rules" r={rules} />
        {!rules.value ? (rules.error ? null : <Loading what="alert rules" />) : rules.value.length === 0 ? <Empty>No alert rule.</Empty> : (
          <table class="plain" aria-label="Alert rules">
            <Head cols={['#', 'Name', 'Metric', 'Scope', 'Breached when', 'For / keep firing / window', 'Severity', 'Actions', 'By', ...(can('operator') ? [''] : [])]} />
            <tbody>{rules.value.map((r) => (
              <tr key={r.id} data-rule={r.id}>
                <td>{r.id}</td><td>{r.name}</td><td class="mono">{r.metric}</td>
                <td class="mono">{r.model ? `${r.model}${r.version ? `@${r.version}` : ''}` : 'fleet'}{r.scope?.tags ? ` ${Object.entries(r.scope.tags).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}</td>
                <td class="mono">{alertCondition(r.metric, r.threshold)}</td><td>{r.forSec}s / {r.keepFiringForSec ?? 0}s / {r.windowSec / 3600}h</td><td>{r.severity}</td>
                <td class="mono">{r.actions.map((x) => `${x.type} ${x.url}`).join('; ') || '—'}</td><td>{r.createdBy}</td>
                {can('operator') ? (
                  <td><ActionForm label={`Remove rule ${r.id}`} reasonRequired danger run={async (reason) => {
                    await api?.send('DELETE', `/alert-rules/${r.id}?reason=${encodeURIComponent(reason)}`);
                    setRulesTick((n) => n + 1);
                    return 'removed';
                  }} /></td>
                ) : null}
              </tr>
            ))}</tbody>
          </table>
        )}
        {can('operator') ? <AddRule onAdded={() => setRulesTick((n) => n + 1)} /> : null}
      </div>
    </section>
  );
}

function Deliveries({ id, tick }: { id: string; tick: number }) {
  const api = session.value?.api;
  // Read again with the alerts (every REFRESH_MS, on events): a read that fails keeps the deliveries shown under the error, with Retry.
  const d = useRefetched(() => api!.get<{ deliveries: Delivery[] }>(`/alerts/${encodeURIComponent(id)}/deliveries`).then((r) => r.deliveries),
    [tick, alertTick.value, refetchTick.value], id);
  return (
    <div class="panel" data-testid="alert-deliveries">
      <h2>Webhook deliveries of alert {id}</h2>
      <RefetchFailed what={`the deliveries of alert ${id}`} r={d} />
      {!d.value ? (d.error ? null : <Loading what="deliveries" />) : d.value.length === 0 ? <Empty>No delivery: the rule has no webhook action.</Empty> : (
        <table class="plain" aria-label="Deliveries">
          <Head cols={['#', 'Event', 'Action', 'URL', 'State', 'Attempts', 'Next']} />
          <tbody>{d.value.map((x) => (
            <tr key={x.id}><td>{x.id}</td><td>{x.event}</td><td>{x.action}</td><td class="mono">{x.url}</td><td><span class={`pill dl-${x.state}`}>{x.state}</span></td>
              <td>{x.attempts.map((t, i) => <div key={i} class="mono">{time(t.at)} {t.status ?? '—'} {t.error ?? ''} {Math.round(t.ms)} ms</div>)}</td><td>{time(x.nextAt)}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}
