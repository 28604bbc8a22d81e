// One rollout (views/rollouts.tsx): its waves with live progress (told / active of the wave's devices,
// the bake counting down in the page), each wave's gates against their thresholds with sample sizes
// and verdicts, the operator actions, its devices and its audit trail (stored entries, then live ones).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AuditEntry, AuditList, GateResult, Rollout, RolloutWave } from '@edgefleet/shared';
import { formatCount, gateCondition, gateValue, gateVerdict, promoteWait, promoteWaitText } from '@edgefleet/shared/browser';
import { errorText } from '../api.js';
import { can, deviceTick, liveAudit, refetchTick, rolloutTick, session } from '../store.js';
import { ActionForm } from '../ui/action.js';
import { Empty, ErrorBox, Loading, time } from '../ui/states.js';
import { StatePill, targetText } from './rollouts.js';
import { inert } from '../ui/inert.js';
import { GateActions } from './rollout-gate-actions.js';
import { Head } from '../ui/table.js';
import { MissingBox, missingOf, type Missing } from '../ui/missing.js';
import { hubNow } from '../hub-clock.js';
import { Said, useAnnounce } from '../ui/announce.js';
import { rolloutChange, stateLabel, waveStarted } from './rollout-said.js';

/**
 * The actions the hub takes in the rollout's state (hub/src/rollouts/actions.ts): Promote only while the current wave bakes (it skips the rest of the bake) or has passed under manual advance (it moves on);
 * Full fleet, `promote --full` (hub/src/rollouts/full.ts, docs/rollouts.md "Promoting to the full fleet") on a running rollout's wave before the last, not promoted so already, deploying, baking, judged or passed.
 */
const ACTIONS: ReadonlyArray<{ name: string; label: string; danger: boolean; allowed(r: Rollout): boolean; full?: true }> = [
  { name: 'promote', label: 'Promote', danger: false, allowed: (r) => r.state === 'running' && ['baking', 'passed'].includes(r.waves[r.currentWave]?.state ?? '') },
  { name: 'promote', label: 'Full fleet', danger: true, full: true, allowed: (r) => r.state === 'running' && r.currentWave < r.waves.length - 1
    && !r.waves[r.currentWave]?.full && ['deploying', 'baking', 'evaluating', 'passed'].includes(r.waves[r.currentWave]?.state ?? '') },
  { name: 'pause', label: 'Pause', danger: false, allowed: (r) => r.state === 'running' },
  { name: 'resume', label: 'Resume', danger: false, allowed: (r) => r.state === 'paused' },
  { name: 'abort', label: 'Abort', danger: true, allowed: (r) => r.state === 'running' || r.state === 'paused' },
  { name: 'rollback', label: 'Roll back', danger: true, allowed: (r) => ['running', 'paused', 'completed', 'aborted'].includes(r.state) },
];

/** What an action does here, said in its form where it is not what its name says. */
export function actionNote(name: string, r: Rollout): string | null {
  const w = r.waves[r.currentWave];
  if (name === 'promote' && w) return w.state === 'baking' ? `skips the rest of wave ${w.name}'s bake; its gates still judge it` : `moves on from wave ${w.name}, which passed`;
  if (name === 'promote-full' && w) return `promote --full: wave ${w.name} is still judged; once it passes, the last wave opens at once and the waves between are skipped`;
  if (name === 'abort' && r.config) return `a configuration rollout is not left half way: abort writes v${r.config.fromVersion} of ${r.config.scope} back to every device told, as a rollback`;
  return null;
}

/** The hub's time now (a bake ends by the hub's clock, not this computer's), every second while `on`. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(hubNow());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(hubNow()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

function fmt(v: number | null): string {
  if (v === null) return '—';
  return Number.isInteger(v) ? formatCount(v) : v.toFixed(Math.abs(v) >= 10 ? 1 : 3);
}

/** The bake, and when a wave being judged pauses if a gate stays pending (`pausesAt`, decision 0114), as `rollout show` says it. */
function bakeText(w: RolloutWave, now: number): string {
  const pauses = w.pausesAt ? `pauses at ${time(w.pausesAt)} if a gate is still pending (gates.stuckSec)` : null;
  if (!w.bakeUntil) return pauses ?? (w.state === 'pending' ? `bake ${w.bakeSec}s` : '—');
  const left = Math.ceil((Date.parse(w.bakeUntil) - now) / 1000);
  const bake = w.state === 'baking' && left > 0 ? `${left}s left of ${w.bakeSec}s` : `baked ${w.bakeSec}s`;
  return pauses ? `${bake}; ${pauses}` : bake;
}

export function RolloutDetail({ id }: { id: string }) {
  const api = session.value?.api;
  // The rollout as last loaded, and why the latest refetch failed: a failed refetch (a 503, the hub
  // restarting) keeps what was shown, marked, instead of replacing it; only the newest request's answer counts.
  const [shown, setShown] = useState<{ r: Rollout | null; error: string | null; missing?: Missing | null }>({ r: null, error: null });
  const [n, setN] = useState(0);
  const latest = useRef(0);
  useEffect(() => { setShown({ r: null, error: null }); }, [id]);
  useEffect(() => {
    const mine = ++latest.current;
    // The first DEVICES_SHOWN devices only: a rollout of 10,000 devices is refetched on every step.
    api?.get<Rollout>(`/rollouts/${encodeURIComponent(id)}?devices=${DEVICES_SHOWN}`).then(
      (x) => { if (mine === latest.current) setShown({ r: x, error: null }); },
      (e: unknown) => { if (mine === latest.current) setShown((s) => { const missing = missingOf(e); return { r: missing ? null : s.r, error: errorText(e), missing }; }); });
  }, [id, n, rolloutTick.value, refetchTick.value]);
  const r = shown.r;
  // What changes here without this operator (the hub's gate, another operator), said once (ui/announce.tsx).
  const said = useAnnounce(r, id, (was, now) => rolloutChange(was, now, can('operator') ? 'Promote' : 'an operator\'s Promote'));
  // A configuration rollout's device statuses are the boxes' reported configuration (docs/rollouts.md
  // "Configuration rollouts"), which changes with no rollout event (a box that applies it, or the previous
  // document after a rollback): a device's state or presence event of a device listed refetches the rollout,
  // at most once every REFETCH_MS whatever the burst.
  const soon = useRef<ReturnType<typeof setTimeout> | null>(null);
  const ev = deviceTick.value;
  useEffect(() => {
    if (!r?.config || soon.current || !r.devices?.some((d) => d.deviceId === ev.id)) return;
    soon.current = setTimeout(() => { soon.current = null; setN((x) => x + 1); }, REFETCH_MS);
  }, [ev.n]);
  useEffect(() => () => { if (soon.current) clearTimeout(soon.current); }, [id]);
  const offered = useRef(new Set<string>());
  const setR = (x: Rollout) => { latest.current++; setShown({ r: x, error: null }); };
  const baking = !!r && r.state === 'running' && r.waves.some((w) => w.state === 'baking');
  const now = useNow(baking);
  const retry = () => setN((x) => x + 1);
  if (!r) return shown.missing ? <MissingBox m={shown.missing} /> : shown.error ? <ErrorBox error={shown.error} retry={retry} /> : <Loading what={`rollout ${id}`} />;
  // Every action offered since the page opened stays drawn (ui/action.tsx `gone`): one whose form is open when another
  // operator's change takes it away keeps the form and says why, instead of vanishing with what was typed.
  for (const a of ACTIONS) if (a.allowed(r)) offered.current.add(a.label);
  const actions = ACTIONS.filter((a) => offered.current.has(a.label));
  const cw = r.waves[r.currentWave];
  const gone = `it no longer applies: the rollout is ${r.state}${cw ? `, wave ${cw.name} ${cw.state}` : ''}${r.stateBy ? ` (its last state change by ${r.stateBy} at ${time(r.stateAt)})` : ''}`;
  const wait = promoteWait(r);
  // The answer says what the action changed (`resume: running`, `promote: running; wave 2 of 3 (all) started`): the live region does not.
  const act = async (name: string, label: string, body: object) => {
    const next = await said.own(async () => {
      const x = await api?.send<Rollout>('POST', `/rollouts/${encodeURIComponent(r.id)}/${name}`, body);
      if (x) setR(x);
      rolloutTick.value++; // the list too
      return x;
    });
    const moved = next ? waveStarted(r, next) : null;
    return `${label.toLowerCase()}: ${next ? stateLabel(next.state).toLowerCase() : 'done'}${moved ? `; ${moved.charAt(0).toLowerCase()}${moved.slice(1)}` : ''}`;
  };
  return (
    <div data-testid="rollout-detail">
      <Said said={said.said} />
      {shown.error ? <ErrorBox error={`could not refresh the rollout (shown as of ${time(r.updated)}): ${shown.error}`} retry={retry} /> : null}
      <div class="panel">
        <h2><span class="mono">{r.id}</span>: <span class="mono">{r.config ? `config ${r.config.scope} v${r.config.fromVersion} → v${r.config.version}` : `${r.model} ${r.fromVersion ?? '(none)'} → ${r.version}`}</span> <StatePill state={r.state} /></h2>
        {r.stateReason ? <p class={reasonClass(r)} data-testid="rollout-reason">{inert(r.stateReason)}</p> : null}
        {cw?.full ? <p data-testid="rollout-full">Promoted to the full fleet by {cw.full.by} at {time(cw.full.at)}: {cw.full.reason}; once wave {cw.name} passes, wave {r.waves[r.waves.length - 1]?.name} opens (every remaining device)</p> : null}
        {wait ? <p data-testid="rollout-waiting">{promoteWaitText(wait, can('operator') ? 'Promote' : 'an operator\'s Promote')}</p> : null}
        <dl class="stats">
          <dt>Target</dt><dd>{targetText(r.target)}</dd><dt>Advance</dt><dd>{r.advance}</dd>
          <dt>On failure</dt><dd>{r.onFailure}</dd><dt>Reason</dt><dd>{r.reason}</dd>
          <dt>By</dt><dd>{r.createdBy}</dd><dt>Updated</dt><dd>{time(r.updated)}</dd>
          {r.stateBy ? <><dt>{stateLabel(r.state)}</dt><dd data-testid="rollout-state-by">by {r.stateBy} at {time(r.stateAt)}</dd></> : null}
          {r.allowBackendMismatch ? <><dt>Backends</dt><dd data-testid="rollout-backend-mismatch">sent also to boxes whose backend cannot load it (allowBackendMismatch)</dd></> : null}
          {r.window ? <><dt>Window</dt><dd data-testid="rollout-window">switches at <span class="mono">{r.window.cron}</span> ({r.window.timeZone}) for {r.window.durationSec} s</dd></> : null}
        </dl>
        {can('operator') && actions.length ? (
          <div class="actions row" aria-label="Rollout actions">
            {actions.map((a) => {
              const note = actionNote(a.full ? 'promote-full' : a.name, r);
              return <ActionForm key={a.label} label={a.label} danger={a.danger} reasonRequired confirm={a.full ? <FullConfirm r={r} /> : undefined} gone={a.allowed(r) ? undefined : gone}
                extra={note ? <p class="muted" data-testid={`note-${a.full ? 'promote-full' : a.name}`}>{note}</p> : undefined} run={(reason) => act(a.name, a.label, a.full ? { reason, full: true } : { reason })} />;
            })}
            <GateActions r={r} gone={gone} act={act} />
          </div>
        ) : null}
      </div>
      <div class="panel">
        <h2>Waves</h2>
        <table class="plain" aria-label="Waves">
          <Head cols={['#', 'Wave', 'Share', 'State', 'Told / devices', 'Active', 'Bake', 'Started']} />
          <tbody>{r.waves.map((w, k) => (
            <tr key={w.name} class={k === r.currentWave ? 'selected' : ''} data-wave={w.name}>
              <td>{k + 1}</td><td>{w.name}</td><td>{w.tags ? `ring ${Object.entries(w.tags).map(([k, v]) => `${k}=${v}`).join(', ')}` : `${w.percent ?? 0}%`}{w.minDevices ? ` (min ${w.minDevices})` : ''}</td><td><span class={`pill wv-${w.state}`}>{w.state}</span></td>
              <td><progress max={Math.max(1, w.devices)} value={w.notified} /> {formatCount(w.notified)} / {formatCount(w.devices)}</td><td>{formatCount(w.active)}</td>
              <td data-testid={`bake-${w.name}`}>{bakeText(w, now)}</td><td>{time(w.startedAt)}</td>
            </tr>
          ))}</tbody>
        </table>
        {r.waves.map((w) => w.gates.length ? <Gates key={w.name} wave={w} /> : null)}
      </div>
      <div class="grid2">
        <div class="panel"><h2>Devices</h2><Devices r={r} /></div>
        <div class="panel"><h2>Audit trail</h2><Trail id={r.id} /></div>
      </div>
    </div>
  );
}

/** What promote to the full fleet does, to be confirmed: it tells every remaining device of the target. */
function FullConfirm({ r }: { r: Rollout }) {
  const last = r.waves[r.waves.length - 1];
  const between = r.waves.slice(r.currentWave + 1, -1).map((w) => w.name);
  return <>Once wave {r.waves[r.currentWave]?.name} passes, wave {last?.name} tells every remaining device of the target ({formatCount(last?.devices ?? 0)} devices in all) at once{between.length ? `; skipped: ${between.join(', ')}` : ''}.</>;
}

function Gates({ wave }: { wave: RolloutWave }) {
  return (
    <table class="plain gates" aria-label={`Gates of wave ${wave.name}`}>
      <caption>Gates of wave {wave.name}</caption>
      <Head cols={['Gate', 'Value', 'Passes when', 'Samples (wave / control)', 'Against', 'Verdict']} />
      <tbody>{wave.gates.map((g: GateResult) => (
        <tr key={g.name} data-gate={g.name} title={inert(g.note ?? '')}>
          <td class="mono">{g.name}{g.blocking ? '' : ' (shown only)'}</td><td class="mono">{g.value === null ? fmt(null) : gateValue(g, fmt)}</td>
          <td class="mono">{gateCondition(g, fmt, { atLeast: '≥', atMost: '≤' })}</td>
          <td>{formatCount(g.samples.wave)} / {formatCount(g.samples.control)}</td><td>{g.against}</td>
          <td><span class={`pill vd-${g.accepted ? 'accepted' : gateVerdict(g).replace(' ', '_')}`} title={g.accepted ? `${g.accepted.at}: ${g.accepted.reason}` : undefined}>{gateVerdict(g)}</span>{g.note ? <span class="muted"> {inert(g.note)}</span> : null}</td>
        </tr>
      ))}</tbody>
    </table>
  );
}

/** A configuration rollout's page refetches at most this often on its devices' state events. */
const REFETCH_MS = 1000;

/** Devices the page lists, lowest places first (GET /rollouts/{id}?devices=N; `devicesTotal` counts them all). */
const DEVICES_SHOWN = 500;

/** Each device's status and why, where its deployment's row says (the hub's hold, a refusal, a deferral; `reason`, cut at 160 characters: its page has a hold's in full). */
function Devices({ r }: { r: Rollout }) {
  const d = r.devices ?? [];
  const total = r.devicesTotal ?? d.length;
  // A target that reaches no device yet is no dead rollout: devices that join it are placed (docs/rollouts.md "Cohorts").
  if (d.length === 0) return <Empty>No device in the target yet: a device that joins it (enrolled, tagged into it) is placed and told; until then the waves wait (gates.stuckSec pauses it).</Empty>;
  return (
    <table class="plain" aria-label="Rollout devices">
      <Head cols={['Device', 'Wave', 'Place', 'Previous', 'Told', 'Status', 'Why']} />
      <tbody>{d.slice(0, DEVICES_SHOWN).map((x) => (
        <tr key={x.deviceId} data-device={x.deviceId}>
          <td><a class="mono" href={`#/devices/${encodeURIComponent(x.deviceId)}`}>{x.deviceId}</a></td><td>{x.wave}</td><td>{x.place.toFixed(1)}</td>
          <td class="mono">{x.previous ?? '—'}</td><td>{time(x.notifiedAt)}</td><td><span class={`pill st-${x.status}`}>{x.status}</span></td>
          <td class={x.status === 'refused' || x.status === 'failed' ? 'error' : 'muted'}>{x.reason ? inert(x.reason) : ''}</td>
        </tr>
      ))}</tbody>
      {total > DEVICES_SHOWN ? <caption>first {formatCount(DEVICES_SHOWN)} of {formatCount(total)} by place</caption> : null}
    </table>
  );
}

/** Entries the rollout page shows: the newest; the audit log view, filtered by the rollout, pages back further. */
const TRAIL = 200;

function Trail({ id }: { id: string }) {
  const api = session.value?.api;
  const [loaded, setLoaded] = useState<{ entries: AuditEntry[]; upTo: number; older: boolean } | { error: string } | null>(null);
  useEffect(() => {
    api?.get<AuditList>(`/audit?target=${encodeURIComponent(id)}&order=desc&limit=${TRAIL}`).then(
      (x) => setLoaded({ entries: x.entries, upTo: x.entries[0]?.id ?? 0, older: x.next !== null }), (e: unknown) => setLoaded({ error: errorText(e) }));
  }, [id, refetchTick.value]);
  const rows = useMemo(() => {
    if (!loaded || 'error' in loaded) return [];
    return [...liveAudit.value.filter((e) => e.target === id && e.id > loaded.upTo).reverse(), ...loaded.entries];
  }, [loaded, liveAudit.value, id]);
  if (!loaded) return <Loading what="the audit trail" />;
  if ('error' in loaded) return <ErrorBox error={loaded.error} />;
  if (rows.length === 0) return <Empty>No audit entry yet.</Empty>;
  return (
    <>
      <ol class="timeline" aria-label="Rollout audit trail">{rows.map((e) => (
        <li key={e.id} class={/failed|rolled_back|aborted/.test(e.action) ? 'bad' : ''}>
          <time>{time(e.at)}</time><b class="mono">{e.action}</b> <span class="muted">by {e.actor}</span>{e.reason ? <> — {e.reason}</> : null}
        </li>
      ))}</ol>
      {loaded.older ? <p class="muted" aria-label="Older trail entries">The newest {TRAIL} entries are shown; <a href={`#/audit/target/${encodeURIComponent(id)}`}>the whole trail</a> is in the audit log.</p> : null}
    </>
  );
}

/** How the state's reason is drawn: green once completed, plain for an operator's pause or promote, red for what went wrong (a failed gate, a rollback, the hub's own pause). */
export function reasonClass(r: Pick<Rollout, 'state' | 'stateBy'>): string {
  if (r.state === 'completed') return 'ok';
  if ((r.state === 'paused' || r.state === 'running') && r.stateBy !== null && r.stateBy !== 'hub') return 'muted';
  return 'error';
}
