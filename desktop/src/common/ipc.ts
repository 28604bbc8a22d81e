// The IPC contract between the desktop app's renderer (through the preload) and its main process: one
// zod schema per channel's request and reply. Main validates every payload before acting on it
// (validateRequest): the renderer shows content from the network and is not trusted.
import { z } from 'zod';
import { AppError } from '@edgefleet/shared/browser'; // browser-safe: the first-run page bundles this file
import { INVOKE_CHANNELS, type InvokeChannel } from './ipc-channels.js';

export const ProfileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'expected a profile name of letters, digits, space, ".", "_" or "-" (at most 64)');
/** A hub address: http(s), host and optional port, no path, no credentials. */
export const HubAddress = z.string().max(2048).refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash;
  } catch {
    return false;
  }
}, 'expected a hub address such as https://hub.example:8700 (http or https, no path)');
/** Printable ASCII: the token travels in a header, which carries nothing else (main adds it to the hub's requests). */
export const ApiToken = z.string().min(8).max(512).regex(/^[\x21-\x7e]+$/, 'expected an API token without spaces, of printable ASCII (efa_… as the hub printed it)');

/** A console view's address (`#/alerts/42`): what a notification's click or a deep link opens. */
export const NavHash = z.string().max(300).regex(/^#\/[A-Za-z0-9/_.:%-]*$/, 'expected a console view such as #/alerts/42');

export const ProfileInfo = z.object({ name: ProfileName, address: HubAddress });
export type ProfileInfo = z.infer<typeof ProfileInfo>;

export const IPC = {
  'profiles:list': { request: z.object({}).strict(), reply: z.object({ profiles: z.array(ProfileInfo) }) },
  'profiles:save': { request: z.object({ name: ProfileName, address: HubAddress, token: ApiToken }).strict(), reply: z.object({ ok: z.literal(true) }) },
  'profiles:open': { request: z.object({ name: ProfileName }).strict(), reply: z.object({ ok: z.literal(true) }) },
  notify: {
    request: z.object({
      title: z.string().min(1).max(120),
      body: z.string().max(1000),
      /** Deduplication key (e.g. `alert:42`): a key already shown is not shown again. */
      key: z.string().min(1).max(200).optional(),
      /** The view a click opens in the sender's window (a console hash such as `#/alerts/42`). */
      link: NavHash.optional(),
    }).strict(),
    reply: z.object({ shown: z.boolean(), reason: z.enum(['shown', 'duplicate', 'rate_limited', 'unsupported']) }),
  },
} satisfies Record<InvokeChannel, { request: z.ZodType; reply: z.ZodType }>;

export type IpcRequest<C extends InvokeChannel> = z.infer<(typeof IPC)[C]['request']>;
export type IpcReply<C extends InvokeChannel> = z.infer<(typeof IPC)[C]['reply']>;

export function isInvokeChannel(c: unknown): c is InvokeChannel {
  return typeof c === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(c);
}

/** The request parsed, or INVALID_INPUT naming the channel, the field and what was expected. */
export function validateRequest<C extends InvokeChannel>(channel: C, payload: unknown): IpcRequest<C> {
  const r = IPC[channel].request.safeParse(payload);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError('INVALID_INPUT', `ipc ${channel}: ${i?.path.join('.') || 'payload'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data as IpcRequest<C>;
}
