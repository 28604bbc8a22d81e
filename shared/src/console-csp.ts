// The Content-Security-Policy of the operator console, in one place: the hub sends it with the web
// console (hub/src/api/console.ts) and the desktop app enforces it on its windows
// (desktop/src/main/window-options.ts). No inline script, no eval, requests only to the hub itself;
// 'wasm-unsafe-eval' lets the page compile WebAssembly (onnxruntime-web for "Try it", served by the hub
// from the console's assets) and nothing else: JavaScript eval stays refused.
// Marked pure so a bundle that does not use it (the renderer, through shared/browser) leaves it out.
export const CONSOLE_CSP = /* @__PURE__ */ [
  "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
].join('; ');
