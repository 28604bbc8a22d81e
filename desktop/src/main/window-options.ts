// One function builds every window's options (VS Code's windows.ts shape, docs/console.md "Desktop
// app"): context isolation, the sandbox, no Node in the page, no <webview>, a preload that only relays
// allow-listed IPC. Navigation away from the hub and window.open are denied; external links are
// handed to the system browser only when they are http(s). The page's CSP comes from the hub
// (hub/src/api/console.ts) and is added here to every response from the hub's origin that lacks one.
// Sessions: the token is added to requests to the hub's origin only, and no page is granted a permission.
import type { BrowserWindowConstructorOptions, HandlerDetails, Session, WebContents } from 'electron';
import { CONSOLE_CSP } from '@edgefleet/shared/browser';

/** The same policy the hub sends (shared/src/console-csp.ts); main adds it if a hub does not. */
export const DESKTOP_CSP = CONSOLE_CSP;

export function windowOptions(o: { preload: string; title?: string }): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    title: o.title ?? 'edgefleet',
    backgroundColor: '#0f1216',
    show: false,
    webPreferences: {
      preload: o.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

/** Whether `url` is on the hub's origin (the only place a window may be). */
export function sameOrigin(url: string, hubOrigin: string): boolean {
  try {
    return new URL(url).origin === new URL(hubOrigin).origin;
  } catch {
    return false;
  }
}

/** window.open and target=_blank: never a new window; http(s) links go to the system browser. */
export function windowOpenDecision(details: Pick<HandlerDetails, 'url'>, openExternal: (url: string) => void): { action: 'deny' } {
  try {
    const u = new URL(details.url);
    if (u.protocol === 'https:' || u.protocol === 'http:') openExternal(u.toString());
  } catch {
    /* not a URL: nothing to open */
  }
  return { action: 'deny' };
}

/** Applies the navigation rules to a window's contents. */
export function guardContents(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, hubOrigin: string, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler((d) => windowOpenDecision(d, openExternal));
  const block = (e: { preventDefault(): void }, url: string) => { if (!sameOrigin(url, hubOrigin)) e.preventDefault(); };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

/** Response headers for the hub's origin with the CSP added when the hub sent none. */
export function withCsp(headers: Record<string, string[] | string> | undefined): Record<string, string[] | string> {
  const out = { ...(headers ?? {}) };
  if (!Object.keys(out).some((k) => k.toLowerCase() === 'content-security-policy')) out['Content-Security-Policy'] = [DESKTOP_CSP];
  return out;
}

/** Request headers with the profile's token as the only Authorization (one the page set is replaced). */
export function withToken(headers: Record<string, string>, token: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') out[k] = v;
  out['Authorization'] = `Bearer ${token}`;
  return out;
}

/** No page is granted a permission (camera, microphone, geolocation, notifications, clipboard…), asked for or checked. */
export function denyPermissions(ses: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>): void {
  ses.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
}

/** A hub window's session: the token on requests to the hub's origin only, the CSP on its responses, no permission. */
export function guardSession(ses: Pick<Session, 'webRequest' | 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>, hubOrigin: string, token: string): void {
  const urls = [`${new URL(hubOrigin).origin}/*`];
  ses.webRequest.onBeforeSendHeaders({ urls }, (d, cb) => cb({ requestHeaders: withToken(d.requestHeaders, token) }));
  ses.webRequest.onHeadersReceived({ urls }, (d, cb) => cb({ responseHeaders: withCsp(d.responseHeaders) }));
  denyPermissions(ses);
}
