// edgefleet:// deep links (docs/console.md "Desktop app"): edgefleet://device/ID[?profile=NAME] opens a
// device in the console. Anything else is refused with a reason: links come from other programs.
import { AppError } from '@edgefleet/shared';

export type DeepLink = { kind: 'device'; id: string; profile: string | null };

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PROFILE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export function parseDeepLink(raw: string): DeepLink {
  const bad = (why: string) => new AppError('INVALID_INPUT', `deep link ${JSON.stringify(raw.slice(0, 200))}: ${why}; expected edgefleet://device/DEVICE-ID[?profile=NAME]`);
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
  if (u.host !== 'device') throw bad(`unknown target "${u.host}"`);
  const segs = u.pathname.split('/').filter(Boolean);
  if (segs.length !== 1) throw bad('expected exactly one device id');
  let id: string;
  try {
    id = decodeURIComponent(segs[0] as string);
  } catch {
    throw bad('bad percent-encoding');
  }
  if (!DEVICE_ID.test(id)) throw bad(`device id "${id}" is not valid`);
  const keys = [...u.searchParams.keys()];
  if (keys.some((k) => k !== 'profile') || keys.length > 1) throw bad('only ?profile= is allowed');
  const profile = u.searchParams.get('profile');
  if (profile !== null && !PROFILE.test(profile)) throw bad(`profile "${profile}" is not valid`);
  return { kind: 'device', id, profile };
}

/** The console's address hash for a link (the renderer's route table). */
export function linkHash(l: DeepLink): string {
  return `#/devices/${encodeURIComponent(l.id)}`;
}
