// The main process's side of the IPC contract: each allow-listed channel validated (common/ipc.ts) and
// answered by a handler; a message from a frame that may not use the channel (main/first-run.ts:
// profile calls from the first-run page only, `notify` from a saved hub's page) is refused. A profile is
// saved only once its hub accepted the token (main/hub-check.ts).
import type { IpcMainInvokeEvent } from 'electron';
import { toAppError } from '@edgefleet/shared';
import { isInvokeChannel, validateRequest, type IpcReply, type IpcRequest } from '../common/ipc.js';
import { INVOKE_CHANNELS, type InvokeChannel } from '../common/ipc-channels.js';
import type { ProfileStore } from './profiles.js';
import type { Notifier } from './notifier.js';

export interface HandlerDeps {
  profiles: ProfileStore;
  notifier: Pick<Notifier, 'notify'>;
  openProfile(name: string): void;
  /** Resolves when the hub at the address accepts the token (HubChecker.check); else why not. */
  checkHub(address: string, token: string): Promise<void>;
  /**
   * Whether the sender's frame may use this channel: the first-run page for the profile calls, a
   * console page on a saved hub (its URL's origin) for `notify` (main/first-run.ts).
   */
  trustedSender(url: string, channel: InvokeChannel): boolean;
}

/** Who called, and what a handler may do to the window that called: focus it on a console view. */
export interface CallContext {
  /** The sender's origin (`https://hub.example:8700`): alert ids, and so notification keys, are per hub. */
  origin: string;
  focus(link: string | undefined): void;
}

type Handlers = { [C in InvokeChannel]: (req: IpcRequest<C>, ctx: CallContext) => IpcReply<C> | Promise<IpcReply<C>> };

export function ipcHandlers(d: HandlerDeps): Handlers {
  return {
    'profiles:list': () => ({ profiles: d.profiles.list() }),
    'profiles:save': async (r) => { await d.checkHub(r.address, r.token); d.profiles.save(r); return { ok: true as const }; },
    'profiles:open': (r) => { d.profiles.open(r.name); d.openProfile(r.name); return { ok: true as const }; },
    notify: (r, ctx) => {
      const reason = d.notifier.notify(r, (link) => ctx.focus(link), ctx.origin);
      return { shown: reason === 'shown', reason };
    },
  };
}

/** Registers every channel on `ipcMain` (injected) with validation; errors reach the renderer as {error}. */
export function registerIpc(ipcMain: { handle(ch: string, fn: (e: IpcMainInvokeEvent, payload: unknown) => unknown): void }, d: HandlerDeps, focusSender: (e: IpcMainInvokeEvent, link: string | undefined) => void): void {
  const handlers = ipcHandlers(d);
  for (const ch of INVOKE_CHANNELS) {
    ipcMain.handle(ch, (e, payload) => dispatch(handlers, d, ch, e.senderFrame?.url ?? '', payload, (link) => focusSender(e, link)));
  }
}

/** The origin of a sender's URL (`null` for file: pages and what does not parse). */
function originOf(url: string): string {
  try { return new URL(url).origin; } catch { return 'null'; }
}

export async function dispatch(handlers: Handlers, d: Pick<HandlerDeps, 'trustedSender'>, ch: unknown, senderUrl: string, payload: unknown, focus: CallContext['focus'] = () => undefined): Promise<{ ok: true; reply: unknown } | { ok: false; error: { code: string; message: string } }> {
  const ctx: CallContext = { origin: originOf(senderUrl), focus };
  try {
    if (!isInvokeChannel(ch)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc: unknown channel ${String(ch)}` } };
    if (!d.trustedSender(senderUrl, ch)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc ${ch}: refused from ${senderUrl || 'an unknown frame'}` } };
    const req = validateRequest(ch, payload);
    return { ok: true, reply: await (handlers[ch] as (r: unknown, c: CallContext) => unknown)(req, ctx) };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
