// The Accept and Un-accept forms of a rollout's page (docs/rollouts.md "Accepting a gate"): every one offered since
// the page opened stays drawn (ui/action.tsx `gone`, docs/decisions/0147-console-action-gone-under-open-form.md), so one whose
// form is open when a change takes it away (another operator accepted the gate or took it back, it passed, the wave
// was judged or the rollout stopped) keeps its form and what was typed, sends nothing and says why, until Cancel.
import { useRef } from 'preact/hooks';
import type { GateResult, Rollout } from '@edgefleet/shared';
import { ActionForm } from '../ui/action.js';
import { time } from '../ui/states.js';

interface Offer { kind: 'Accept' | 'Un-accept'; wave: string; g: GateResult }

/**
 * What the hub takes on the current wave while its gates are judged (the rollout running or paused): Accept for a
 * blocking gate pending or failed (hub/src/rollouts/accept.ts), Un-accept for an accepted one (POST /rollouts/{id}/unaccept).
 */
function offers(r: Rollout): Offer[] {
  const cw = r.waves[r.currentWave];
  if (!cw || !(r.state === 'running' || r.state === 'paused') || !(cw.state === 'evaluating' || cw.state === 'failed')) return [];
  return cw.gates.filter((g) => g.accepted || (g.blocking && g.verdict !== 'pass')).map((g) => ({ kind: g.accepted ? 'Un-accept' : 'Accept', wave: cw.name, g }));
}

/** Why an offer went: what became of its gate on the wave still judged; else what became of the rollout (`gone`, the other actions' words). */
function whyGone(o: Offer, r: Rollout, gone: string): string {
  const cw = r.waves[r.currentWave];
  const g = offers(r).length && cw?.name === o.wave ? cw.gates.find((x) => x.name === o.g.name) : undefined;
  if (!g) return gone;
  const now = g.accepted ? `was accepted by ${g.accepted.by} at ${time(g.accepted.at)}: ${g.accepted.reason}` : o.kind === 'Accept' ? `reads ${g.verdict}` : `is no longer accepted (${g.verdict})`;
  return `it no longer applies: gate ${o.g.name} ${now}`;
}

export function GateActions(p: { r: Rollout; gone: string; act(name: string, label: string, body: object): Promise<string> }) {
  const offered = useRef(new Map<string, Offer>());
  const here = new Map(offers(p.r).map((o) => [`${o.kind} ${o.wave} ${o.g.name}`, o]));
  for (const [k, o] of here) offered.current.set(k, o);
  const labels = new Set([...here.values()].map((o) => `${o.kind} ${o.g.name}`));
  return <>{[...offered.current].map(([k, o]) => {
    // One gone from an earlier wave is named with it while the current wave offers the same.
    const label = `${o.kind} ${o.g.name}${!here.has(k) && labels.has(`${o.kind} ${o.g.name}`) ? ` (wave ${o.wave})` : ''}`;
    const what = o.kind === 'Accept' ? `${o.g.name} stops blocking wave ${o.wave}, judged again now`
      : `${o.g.name} blocks wave ${o.wave} again, judged at once (accepted by ${o.g.accepted?.by}: ${o.g.accepted?.reason})`;
    return <ActionForm key={k} label={label} reasonRequired gone={here.has(k) ? undefined : whyGone(o, p.r, p.gone)} extra={<p class="muted">{what}</p>}
      run={(reason) => (o.kind === 'Accept' ? p.act('promote', label, { reason, acceptGates: [o.g.name] }) : p.act('unaccept', label, { reason, gates: [o.g.name] }))} />;
  })}</>;
}
