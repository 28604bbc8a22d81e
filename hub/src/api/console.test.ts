// The web console's static serving: the built renderer at / and /assets/* under the strict CSP; a
// clear 503 page (the hub still runs) when it was not built; nothing outside the build is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { CONSOLE_CSP, consoleDir, mountConsole } from './console.js';
import type { Env } from './http.js';

test('console: serves the build with the CSP, refuses paths outside it, and says how to build when missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-'));
  try {
    const build = join(dir, 'renderer');
    const missing = new Hono<Env>();
    mountConsole(missing, { dir: build });
    const none = await missing.request('/');
    assert.equal(none.status, 503);
    assert.match(await none.text(), /console is not built[\s\S]*npm run build/);
    assert.equal(none.headers.get('content-security-policy'), CONSOLE_CSP);

    mkdirSync(join(build, 'assets'), { recursive: true });
    writeFileSync(join(build, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(build, 'assets', 'app.js'), 'export {};');
    writeFileSync(join(build, 'assets', 'ort.wasm.min.mjs'), 'export {};');
    writeFileSync(join(build, 'assets', 'ort-wasm-simd-threaded.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d]));
    writeFileSync(join(dir, 'secret.js'), 'nope');
    const app = new Hono<Env>();
    mountConsole(app, { dir: build });
    const index = await app.request('/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(index.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(index.headers.get('x-frame-options'), 'DENY');
    const js = await app.request('/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    for (const p of ['/assets/..%2F..%2Fsecret.js', '/assets/nope.js', '/assets/app.exe', '/assets/.hidden.js']) {
      assert.equal((await app.request(p)).status, 404, p);
    }
    assert.doesNotMatch(await (await app.request('/assets/%2e%2e/%2e%2e/secret.js')).text(), /nope/);
    // onnxruntime-web ("Try it"): a JavaScript module type and application/wasm (instantiateStreaming needs it).
    assert.match((await app.request('/assets/ort.wasm.min.mjs')).headers.get('content-type') ?? '', /text\/javascript/);
    assert.equal((await app.request('/assets/ort-wasm-simd-threaded.wasm')).headers.get('content-type'), 'application/wasm');
    assert.doesNotMatch(CONSOLE_CSP, /'unsafe-inline'|'unsafe-eval'/);
    assert.match(CONSOLE_CSP, /script-src 'self' 'wasm-unsafe-eval';/, 'WebAssembly may compile, JavaScript eval may not');
    // Source (hub/src/api) and dist (hub/dist/api) layouts are both three levels under the repository.
    assert.match(consoleDir(), /desktop[/\\]dist[/\\]renderer$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('console: every file carries an ETag and a revalidation is answered 304 without its bytes; content-named chunks are kept for good', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-'));
  try {
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'import("./audit-7QX2KD4M.js");');
    writeFileSync(join(dir, 'assets', 'audit-7QX2KD4M.js'), 'export const audit = 1;');
    const app = new Hono<Env>();
    mountConsole(app, { dir });
    for (const path of ['/', '/assets/app.js']) {
      const first = await app.request(path);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('cache-control'), 'no-cache', `${path}: asked again at each load, so a new build is seen at once`);
      const etag = first.headers.get('etag') ?? '';
      assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      const again = await app.request(path, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, `${path}: unchanged`);
      assert.equal(await again.text(), '');
      assert.equal(again.headers.get('content-security-policy'), CONSOLE_CSP);
      assert.equal((await app.request(path, { headers: { 'if-none-match': `"other", ${etag.slice(2)}` } })).status, 304, 'a strong form of the tag in a list matches too');
      assert.equal((await app.request(path, { headers: { 'if-none-match': '"other"' } })).status, 200);
    }
    const chunk = await app.request('/assets/audit-7QX2KD4M.js');
    assert.equal(chunk.headers.get('cache-control'), 'public, max-age=31536000, immutable', 'named by its content: never changes under its name');
    // A new build: app.js changes, its tag with it, and the old tag gets the new bytes.
    const old = (await app.request('/assets/app.js')).headers.get('etag') ?? '';
    writeFileSync(join(dir, 'assets', 'app.js'), 'import("./audit-Z9Y8X7W6.js"); // a new build');
    const rebuilt = await app.request('/assets/app.js', { headers: { 'if-none-match': old } });
    assert.equal(rebuilt.status, 200);
    assert.match(await rebuilt.text(), /Z9Y8X7W6/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
