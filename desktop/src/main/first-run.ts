// The first-run window (docs/console.md "Desktop app"): when no hub profile exists (or from the menu's
// "Add hub…"), main opens a local page (desktop/dist/first-run/index.html) with a form for a hub's
// address and token. That page is not on any hub, so it may call only the profile channels it needs;
// console pages on a known hub may call every channel. It may not navigate anywhere else.
import type { WebContents } from 'electron';
import type { InvokeChannel } from '../common/ipc-channels.js';
import { sameOrigin, windowOpenDecision } from './window-options.js';

/** The channels the first-run page may call. */
export const FIRST_RUN_CHANNELS: ReadonlySet<InvokeChannel> = new Set<InvokeChannel>(['profiles:list', 'profiles:save', 'profiles:open']);

/** Whether a frame at `url` may call `channel`: a known hub's page, or the first-run page for its few calls. */
export function senderAllowed(url: string, channel: InvokeChannel, hubOrigins: readonly string[], firstRunUrl: string): boolean {
  if (url === firstRunUrl) return FIRST_RUN_CHANNELS.has(channel);
  if (!/^https?:/.test(url)) return false; // file:, data:, about: pages are never a hub's
  return hubOrigins.some((o) => sameOrigin(url, o));
}

/** The first-run window stays on its page: no navigation, no new windows (http(s) links go to the system browser). */
export function guardFirstRun(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, firstRunUrl: string, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler((d) => windowOpenDecision(d, openExternal));
  const block = (e: { preventDefault(): void }, url: string) => { if (url !== firstRunUrl) e.preventDefault(); };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (e) => e.preventDefault());
}
