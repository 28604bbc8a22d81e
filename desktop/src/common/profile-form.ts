// The first-run form's logic (desktop/src/first-run): what the user typed, checked with the same
// schema main applies to `profiles:save` (common/ipc.ts), so the page can say which field is wrong
// before asking. The address is reduced to its origin (a pasted https://hub:8700/#/fleet works).
import { IPC, type IpcRequest } from './ipc.js';

export type ProfileField = 'name' | 'address' | 'token';
export type ProfileFormResult = { ok: true; value: IpcRequest<'profiles:save'> } | { ok: false; errors: Partial<Record<ProfileField, string>> };

export function normalizeAddress(raw: string): string {
  const t = raw.trim();
  try {
    const u = new URL(t);
    // Credentials in the address are not dropped silently: the schema refuses them.
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password ? u.origin : t;
  } catch {
    return t;
  }
}

export function checkProfileForm(input: { name: string; address: string; token: string }): ProfileFormResult {
  const value = { name: input.name.trim(), address: normalizeAddress(input.address), token: input.token.trim() };
  const r = IPC['profiles:save'].request.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const errors: Partial<Record<ProfileField, string>> = {};
  for (const i of r.error.issues) {
    const f = i.path[0];
    if ((f === 'name' || f === 'address' || f === 'token') && !errors[f]) errors[f] = i.message;
  }
  return { ok: false, errors };
}

/** A name for a new profile from its address (`hub.example:8700` → `hub.example-8700`), editable. */
export function suggestName(address: string): string {
  try {
    return new URL(normalizeAddress(address)).host.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'hub';
  } catch {
    return 'hub';
  }
}
