// The console's "New rollout" form as the request the hub takes (docs/rollouts.md "The rollout resource";
// docs/console.md, Rollouts). Pure, no zod (the renderer bundles none): the hub validates the request; the
// page only refuses what it cannot send as typed, each on the field the hub would name: a number that is
// not one (`waves[0].percent: expected a number, got "abc"`, not the hub's "received null") and tags that
// do not parse (`tag "site": expected key=value, ...`, the same text as a device's tags: common/tag-text.ts).
import { parseTags } from './tag-text.js';

/** A wave as typed: a share of the target (`percent`), or a staging ring (`ring`: tags such as "ring=canary"; then no percent is sent). */
export type WaveDraft = { name: string; ring: string; percent: string; minDevices: string; bakeSec: string };
/** The hub's default waves (DEFAULT_WAVES in shared/src/wire/rollout.ts). */
export const DEFAULT_WAVES: WaveDraft[] = [{ name: 'canary', ring: '', percent: '5', minDevices: '1', bakeSec: '1800' }, { name: 'all', ring: '', percent: '100', minDevices: '', bakeSec: '0' }];
/** Gate overrides with the hub's defaults as placeholders. */
export const GATES = [
  ['installSuccess', '0.95'], ['reporting', '0.8'], ['minPredictions', '1000'], ['errorRatePoints', '1'], ['latencyRatio', '1.2'],
  ['latencySlackMs', '1'], ['outputPsi', '0.2'], ['preflightP95Ms', '0'], ['inputPsi', '0.2'], ['stuckSec', '3600'],
] as const;
export type GateKey = (typeof GATES)[number][0];
/** The shadow stage's settings with the hub's defaults as placeholders (ShadowStage in shared/src/wire/rollout.ts). */
export const SHADOW = [
  ['sampleRate', '0.1', 'share of answered requests run in shadow'], ['bakeSec', '1800', 'how long (s)'], ['minAgreement', '0.95', 'agreement to pass'],
  ['minSamples', '200', 'shadow runs needed'], ['tolerance', '0.01', 'float outputs agree within'], ['threshold', '', 'class score threshold (optional)'],
  ['replay', '', 'replay N recent requests instead (ring only)'],
] as const;
export type ShadowKey = (typeof SHADOW)[number][0];

export type Draft = {
  model: string; version: string; target: 'all' | 'tags' | 'devices'; tags: string; devices: string; waves: WaveDraft[];
  gates: Partial<Record<GateKey, string>>; advance: 'auto' | 'manual'; onFailure: 'rollback' | 'pause'; reason: string;
  /** A shadow stage first (decision 0032): off, or its settings as typed (empty: the hub's default). */
  shadow: { on: boolean } & Partial<Record<ShadowKey, string>>;
  /** A maintenance window (docs/rollouts.md "Maintenance windows"): none while the cron is empty. */
  window: { cron: string; duration: string; timeZone: string };
};

/** The request, and what the page refuses before sending it: field (as the hub names it) → why. */
export interface RolloutRequest {
  body: Record<string, unknown>;
  problems: Record<string, string>;
}

/** The waves, gates, advance and failure policy as typed: what a model's and a configuration's rollout share. */
export type PolicyDraft = Pick<Draft, 'waves' | 'advance' | 'onFailure' | 'reason'> & { gates: Partial<Record<string, string>> };

/** Reads what was typed, noting each field that cannot be sent as typed in `problems` (field as the hub names it → why). */
function reader(problems: Record<string, string>) {
  // An empty number is sent as missing (not 0): the hub names the field that needs a value, or takes its default.
  const num = (field: string, text: string): number | undefined => {
    const t = text.trim();
    if (t === '') return undefined;
    const n = Number(t);
    if (!Number.isFinite(n)) problems[field] = `expected a number, got "${t}"`;
    return n;
  };
  const tags = (field: string, text: string): Record<string, string> => {
    try {
      return parseTags(text);
    } catch (err) {
      problems[field] = (err as Error).message;
      return {};
    }
  };
  const numbers = (prefix: string, o: Record<string, string | boolean | undefined>) => Object.fromEntries(Object.entries(o)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '').map(([k, v]) => [k, num(`${prefix}.${k}`, v)]));
  const policy = (d: PolicyDraft) => {
    const gates = numbers('gates', d.gates);
    const waves = d.waves.map((w, i) => {
      const minDevices = num(`waves[${i}].minDevices`, w.minDevices);
      return {
        name: w.name.trim(), ...(w.ring.trim() ? { tags: tags(`waves[${i}].tags`, w.ring) } : { percent: num(`waves[${i}].percent`, w.percent) }),
        ...(minDevices !== undefined ? { minDevices } : {}), bakeSec: num(`waves[${i}].bakeSec`, w.bakeSec),
      };
    });
    return { waves, ...(Object.keys(gates).length ? { gates } : {}), advance: d.advance, onFailure: d.onFailure };
  };
  return { tags, numbers, policy };
}

/** The request as the hub takes it, from what was typed (the hub validates the rest; nothing is fixed up here). */
export function rolloutRequest(d: Draft): RolloutRequest {
  const problems: Record<string, string> = {};
  const { tags, numbers, policy } = reader(problems);
  const target = d.target === 'all' ? { all: true } : d.target === 'tags' ? { tags: tags('target.tags', d.tags) } : { devices: d.devices.split(/[\s,]+/).filter(Boolean) };
  const { waves, gates, advance, onFailure } = policy(d);
  const body = {
    model: d.model, version: d.version, target, waves,
    ...(gates ? { gates } : {}), ...(d.shadow.on ? { shadow: numbers('shadow', d.shadow) } : {}),
    advance, onFailure, reason: d.reason,
    ...(d.window.cron.trim() ? { window: windowOf(d.window) } : {}),
  };
  return { body, problems };
}

/** Gate overrides a configuration rollout takes (docs/rollouts.md "Configuration rollouts"): installSuccess is config_applied's threshold. */
export const CONFIG_GATES = [
  ['installSuccess', '0.95'], ['reporting', '0.8'], ['minPredictions', '1000'], ['errorRatePoints', '1'], ['latencyRatio', '1.2'],
  ['latencySlackMs', '1'], ['maxRestarts', '2'], ['deferTimeoutSec', '3600'], ['stuckSec', '3600'],
] as const;

/** A configuration rollout as typed: the scope, its whole new document as `key=value` lines, and the policy. */
export type ConfigDraft = PolicyDraft & { scope: string; settings: string };

/** `summaries.windowSec=30` per line, as `edgefleet config set --set` takes them: a value is JSON when it parses, else text. */
export function settingsText(settings: Record<string, unknown>): string {
  return Object.entries(settings).map(([k, v]) => `${k}=${typeof v === 'string' && !jsonParses(v) ? v : JSON.stringify(v)}`).join('\n');
}

function jsonParses(t: string): boolean {
  try { JSON.parse(t); return true; } catch { return false; }
}

/** POST /rollouts/config's body (the scope's document becomes exactly these settings); a line that is not key=value, or a key twice, is refused on `settings`. */
export function configRolloutRequest(d: ConfigDraft): RolloutRequest {
  const problems: Record<string, string> = {};
  const settings: Record<string, unknown> = {};
  for (const [n, raw] of d.settings.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const i = line.indexOf('=');
    const key = line.slice(0, i).trim();
    if (i <= 0 || key === '') { problems['settings'] ??= `line ${n + 1} "${line}": expected key=value, such as summaries.windowSec=30`; continue; }
    if (key in settings) { problems['settings'] ??= `line ${n + 1}: ${key} is given twice: expected each key once`; continue; }
    const text = line.slice(i + 1).trim();
    const value: unknown = jsonParses(text) ? JSON.parse(text) : text;
    // JSON.parse reads 1e400 as Infinity, which JSON would send as null.
    if (typeof value === 'number' && !Number.isFinite(value)) problems['settings'] ??= `line ${n + 1}: ${key}: expected a finite number, got ${text}`;
    settings[key] = value;
  }
  const { policy } = reader(problems);
  return { body: { scope: d.scope.trim(), settings, ...policy(d), reason: d.reason }, problems };
}

/** The window as typed: a duration of digits is seconds, "2h" or "90m" goes as written (the hub parses it). */
function windowOf(w: Draft['window']): Record<string, unknown> {
  const d = w.duration.trim();
  return { cron: w.cron.trim(), durationSec: /^\d+$/.test(d) ? Number(d) : d, ...(w.timeZone.trim() ? { timeZone: w.timeZone.trim() } : {}) };
}
