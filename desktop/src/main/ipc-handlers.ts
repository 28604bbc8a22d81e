// The main process's side of the IPC contract: each allow-listed channel validated (common/ipc.ts) and
// answered by a handler; a message from any frame but a window's own top frame on the hub is refused.
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
  /**
   * Whether the sender's frame may use this channel: a console page we loaded (its URL's origin is a
   * known hub), or the first-run page for the profile calls (main/first-run.ts).
   */
  trustedSender(url: string, channel: InvokeChannel): boolean;
}

/** What a handler may do to the window that called: focus it on a console view. */
export interface CallContext {
  focus(link: string | undefined): void;
}

type Handlers = { [C in InvokeChannel]: (req: IpcRequest<C>, ctx: CallContext) => IpcReply<C> };

export function ipcHandlers(d: HandlerDeps): Handlers {
  return {
    'profiles:list': () => ({ profiles: d.profiles.list() }),
    'profiles:save': (r) => { d.profiles.save(r); return { ok: true as const }; },
    'profiles:remove': (r) => ({ removed: d.profiles.remove(r.name) }),
    'profiles:open': (r) => { d.profiles.open(r.name); d.openProfile(r.name); return { ok: true as const }; },
    notify: (r, ctx) => {
      const reason = d.notifier.notify(r, (link) => ctx.focus(link));
      return { shown: reason === 'shown', reason };
    },
  };
}

/** Registers every channel on `ipcMain` (injected) with validation; errors reach the renderer as {error}. */
export function registerIpc(ipcMain: { handle(ch: string, fn: (e: IpcMainInvokeEvent, payload: unknown) => unknown): void }, d: HandlerDeps, focusSender: (e: IpcMainInvokeEvent, link: string | undefined) => void): void {
  const handlers = ipcHandlers(d);
  for (const ch of INVOKE_CHANNELS) {
    ipcMain.handle(ch, (e, payload) => dispatch(handlers, d, ch, e.senderFrame?.url ?? '', payload, { focus: (link) => focusSender(e, link) }));
  }
}

const NO_CONTEXT: CallContext = { focus: () => undefined };

export function dispatch(handlers: Handlers, d: Pick<HandlerDeps, 'trustedSender'>, ch: unknown, senderUrl: string, payload: unknown, ctx: CallContext = NO_CONTEXT): { ok: true; reply: unknown } | { ok: false; error: { code: string; message: string } } {
  try {
    if (!isInvokeChannel(ch)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc: unknown channel ${String(ch)}` } };
    if (!d.trustedSender(senderUrl, ch)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc ${ch}: refused from ${senderUrl || 'an unknown frame'}` } };
    const req = validateRequest(ch, payload);
    return { ok: true, reply: (handlers[ch] as (r: unknown, c: CallContext) => unknown)(req, ctx) };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
