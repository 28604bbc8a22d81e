// edgefleet:// deep links (docs/console.md "Desktop app"): edgefleet://device/ID[?profile=NAME] opens a
// device in the console, edgefleet://rollout/ID[?profile=NAME] a rollout. Anything else is refused
// with a reason: links come from other programs.
import { AppError } from '@edgefleet/shared';

export type DeepLink = { kind: 'device' | 'rollout'; id: string; profile: string | null };

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** As shared/src/wire/rollout.ts RolloutId (this module stays free of zod for the link check). */
const ROLLOUT_ID = /^ro-[0-9a-f]{10}$/;
const PROFILE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export function parseDeepLink(raw: string): DeepLink {
  const bad = (why: string) => new AppError('INVALID_INPUT', `deep link ${JSON.stringify(raw.slice(0, 200))}: ${why}; expected edgefleet://device/DEVICE-ID or edgefleet://rollout/ROLLOUT-ID, with an optional ?profile=NAME`);
  if (raw.length > 2048) throw bad('longer than 2048 characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 'edgefleet:') throw bad(`scheme ${u.protocol}`);
  if (u.username || u.password || u.hash) throw bad('credentials or a fragment');
  // edgefleet://device/ID parses as host "device", path "/ID".
  const kind = u.host;
  if (kind !== 'device' && kind !== 'rollout') throw bad(`unknown target "${u.host}"`);
  const segs = u.pathname.split('/').filter(Boolean);
  if (segs.length !== 1) throw bad(`expected exactly one ${kind} id`);
  let id: string;
  try {
    id = decodeURIComponent(segs[0] as string);
  } catch {
    throw bad('bad percent-encoding');
  }
  if (!(kind === 'device' ? DEVICE_ID : ROLLOUT_ID).test(id)) throw bad(`${kind} id "${id}" is not valid`);
  const keys = [...u.searchParams.keys()];
  if (keys.some((k) => k !== 'profile') || keys.length > 1) throw bad('only ?profile= is allowed');
  const profile = u.searchParams.get('profile');
  if (profile !== null && !PROFILE.test(profile)) throw bad(`profile "${profile}" is not valid`);
  return { kind, id, profile };
}

/** The console's address hash for a link (the renderer's route table). */
export function linkHash(l: DeepLink): string {
  return `#/${l.kind === 'device' ? 'devices' : 'rollouts'}/${encodeURIComponent(l.id)}`;
}
