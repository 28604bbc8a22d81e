import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP_CSP, guardContents, guardSession, sameOrigin, windowOpenDecision, windowOptions, withCsp } from './window-options.js';

test('every window: isolated, sandboxed, no Node, no webview, our preload', () => {
  const w = windowOptions({ preload: '/app/preload.cjs' }).webPreferences!;
  assert.equal(w.contextIsolation, true);
  assert.equal(w.sandbox, true);
  assert.equal(w.nodeIntegration, false);
  assert.equal(w.nodeIntegrationInSubFrames, false);
  assert.equal(w.webviewTag, false);
  assert.equal(w.webSecurity, true);
  assert.equal(w.allowRunningInsecureContent, false);
  assert.equal(w.preload, '/app/preload.cjs');
});

test('navigation stays on the hub; window.open is denied and http(s) goes to the system browser', () => {
  const handlers = new Map<string, (e: { preventDefault(): void }, url: string) => void>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  const external: string[] = [];
  guardContents({
    on: ((ev: string, fn: (e: { preventDefault(): void }, url: string) => void) => { handlers.set(ev, fn); }) as never,
    setWindowOpenHandler: ((fn: (d: { url: string }) => { action: string }) => { openHandler = fn; }) as never,
  }, 'https://hub.example:8700', (u) => external.push(u));
  const tryNav = (ev: string, url: string) => {
    let prevented = false;
    handlers.get(ev)?.({ preventDefault: () => { prevented = true; } }, url);
    return prevented;
  };
  assert.equal(tryNav('will-navigate', 'https://hub.example:8700/#/devices/x'), false);
  assert.equal(tryNav('will-navigate', 'https://evil.example/'), true);
  assert.equal(tryNav('will-navigate', 'http://hub.example:8700/'), true, 'another scheme is another origin');
  assert.equal(tryNav('will-redirect', 'file:///etc/passwd'), true);
  assert.equal(tryNav('will-attach-webview', 'https://hub.example:8700/'), true);
  assert.deepEqual(openHandler!({ url: 'https://docs.example/x' }), { action: 'deny' });
  assert.deepEqual(windowOpenDecision({ url: 'javascript:alert(1)' }, (u) => external.push(u)), { action: 'deny' });
  assert.deepEqual(windowOpenDecision({ url: 'file:///etc/passwd' }, (u) => external.push(u)), { action: 'deny' });
  assert.deepEqual(external, ['https://docs.example/x']);
  assert.equal(sameOrigin('not a url', 'https://hub.example'), false);
});

test('the CSP is added to hub responses that lack one, and kept when present', () => {
  assert.deepEqual(withCsp({ 'content-type': ['text/html'] })['Content-Security-Policy'], [DESKTOP_CSP]);
  assert.deepEqual(withCsp({ 'content-security-policy': ["default-src 'none'"] }), { 'content-security-policy': ["default-src 'none'"] });
  assert.doesNotMatch(DESKTOP_CSP, /'unsafe-inline'|'unsafe-eval'/);
});

test('a hub window\'s session: the token on the hub\'s requests only (replacing the page\'s), the CSP, every permission refused', () => {
  type Listener = (d: Record<string, unknown>, cb: (r: Record<string, unknown>) => void) => void;
  const listeners: Array<{ ev: string; urls: string[]; fn: Listener }> = [];
  const on = (ev: string) => (filter: { urls: string[] }, fn: Listener) => { listeners.push({ ev, urls: filter.urls, fn }); };
  let request: ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void) | null = null;
  let check: ((...a: unknown[]) => boolean) | null = null;
  guardSession({
    webRequest: { onBeforeSendHeaders: on('send'), onHeadersReceived: on('received') } as never,
    setPermissionRequestHandler: ((fn: typeof request) => { request = fn; }) as never,
    setPermissionCheckHandler: ((fn: typeof check) => { check = fn; }) as never,
  }, 'https://hub.example:8700', 'efa_secret-token');
  assert.deepEqual(listeners.map((l) => [l.ev, l.urls]), [['send', ['https://hub.example:8700/*']], ['received', ['https://hub.example:8700/*']]]);
  const answer = (ev: string, d: Record<string, unknown>) => { let r: Record<string, unknown> = {}; listeners.find((l) => l.ev === ev)!.fn(d, (x) => { r = x; }); return r; };
  assert.deepEqual(answer('send', { requestHeaders: { Accept: 'application/json', authorization: 'Bearer efa_typed-in-page' } }), { requestHeaders: { Accept: 'application/json', Authorization: 'Bearer efa_secret-token' } });
  assert.deepEqual(answer('received', { responseHeaders: {} }), { responseHeaders: { 'Content-Security-Policy': [DESKTOP_CSP] } });
  const granted: boolean[] = [];
  for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) request!(null, p, (ok) => granted.push(ok));
  assert.deepEqual(granted, [false, false, false, false, false]);
  assert.equal(check!(null, 'clipboard-sanitized-write', 'https://hub.example:8700', {}), false);
});
