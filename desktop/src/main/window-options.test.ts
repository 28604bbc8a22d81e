import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP_CSP, guardContents, sameOrigin, windowOpenDecision, windowOptions, withCsp } from './window-options.js';

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
