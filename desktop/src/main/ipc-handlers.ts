// The main process's side of the IPC contract: each allow-listed channel validated (common/ipc.ts) and
// answered by a handler; a message from any frame but a window's own top frame on the hub is refused.
import type { IpcMainInvokeEvent } from 'electron';
import { toAppError } from '@edgefleet/shared';
import { isInvokeChannel, validateRequest, type IpcReply, type IpcRequest } from '../common/ipc.js';
import { INVOKE_CHANNELS, type InvokeChannel } from '../common/ipc-channels.js';
import type { ProfileStore } from './profiles.js';

export interface NotificationPort {
  show(title: string, body: string): boolean;
}

export interface HandlerDeps {
  profiles: ProfileStore;
  notifications: NotificationPort;
  openProfile(name: string): void;
  /** Whether the sender's frame is a console page we loaded (its URL's origin is a known hub). */
  trustedSender(url: string): boolean;
}

type Handlers = { [C in InvokeChannel]: (req: IpcRequest<C>) => IpcReply<C> };

export function ipcHandlers(d: HandlerDeps): Handlers {
  return {
    'profiles:list': () => ({ profiles: d.profiles.list() }),
    'profiles:save': (r) => { d.profiles.save(r); return { ok: true as const }; },
    'profiles:remove': (r) => ({ removed: d.profiles.remove(r.name) }),
    'profiles:open': (r) => { d.profiles.open(r.name); d.openProfile(r.name); return { ok: true as const }; },
    notify: (r) => ({ shown: d.notifications.show(r.title, r.body) }),
  };
}

/** Registers every channel on `ipcMain` (injected) with validation; errors reach the renderer as {error}. */
export function registerIpc(ipcMain: { handle(ch: string, fn: (e: IpcMainInvokeEvent, payload: unknown) => unknown): void }, d: HandlerDeps): void {
  const handlers = ipcHandlers(d);
  for (const ch of INVOKE_CHANNELS) {
    ipcMain.handle(ch, (e, payload) => dispatch(handlers, d, ch, e.senderFrame?.url ?? '', payload));
  }
}

export function dispatch(handlers: Handlers, d: Pick<HandlerDeps, 'trustedSender'>, ch: unknown, senderUrl: string, payload: unknown): { ok: true; reply: unknown } | { ok: false; error: { code: string; message: string } } {
  try {
    if (!isInvokeChannel(ch)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc: unknown channel ${String(ch)}` } };
    if (!d.trustedSender(senderUrl)) return { ok: false, error: { code: 'FORBIDDEN', message: `ipc ${ch}: refused from ${senderUrl || 'an unknown frame'}` } };
    const req = validateRequest(ch, payload);
    return { ok: true, reply: (handlers[ch] as (r: unknown) => unknown)(req) };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
