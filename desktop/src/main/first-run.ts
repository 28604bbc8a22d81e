// The first-run window (docs/console.md "Desktop app"): when no hub profile exists (or from the menu's
// "Add hub…"), main opens a local page (desktop/dist/first-run/index.html) with a form for a hub's
// address and token. That page is not on any hub, so it may call only the profile channels it needs,
// and it is the only page that may call them: a console page on a saved hub shows content from the
// network, so it may call only what the console renderer uses (`notify`; `navigate` is main → page).
// The first-run window may not navigate anywhere else.
import type { WebContents } from 'electron';
import type { InvokeChannel } from '../common/ipc-channels.js';
import { sameOrigin, windowOpenDecision } from './window-options.js';

/** The channels the first-run page may call. */
export const FIRST_RUN_CHANNELS: ReadonlySet<InvokeChannel> = new Set<InvokeChannel>(['profiles:list', 'profiles:save', 'profiles:open']);

/**
 * The channels a console page on a saved hub may call: those renderer/desktop.ts uses. Never the
 * profile channels: any saved hub's page could otherwise read, replace or open every hub profile.
 */
export const HUB_CHANNELS: ReadonlySet<InvokeChannel> = new Set<InvokeChannel>(['notify']);

/** Whether a frame at `url` may call `channel`: the first-run page for the profile calls, a saved hub's page for the console's. */
export function senderAllowed(url: string, channel: InvokeChannel, hubOrigins: readonly string[], firstRunUrl: string): boolean {
  if (url === firstRunUrl) return FIRST_RUN_CHANNELS.has(channel);
  if (!/^https?:/.test(url)) return false; // file:, data:, about: pages are never a hub's
  return HUB_CHANNELS.has(channel) && hubOrigins.some((o) => sameOrigin(url, o));
}

/** The first-run window stays on its page: no navigation, no new windows (http(s) links go to the system browser). */
export function guardFirstRun(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, firstRunUrl: string, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler((d) => windowOpenDecision(d, openExternal));
  const block = (e: { preventDefault(): void }, url: string) => { if (url !== firstRunUrl) e.preventDefault(); };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (e) => e.preventDefault());
}
