// consoleLine against real HTTP servers on 127.0.0.1: a page served, the hub's 503 of a missing build, a port
// nobody listens on, and a server that never answers (the deadline).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { consoleLine } from './console-line.js';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('consoleLine', () => {
  it('says where the console is, that it is not built and what to run, or that the hub did not answer', async () => {
    const ok = await serve((_, res) => res.end('<!doctype html>'));
    const notBuilt = await serve((_, res) => { res.statusCode = 503; res.end('not built'); });
    const silent = await serve(() => { /* never answers */ });
    try {
      assert.equal(await consoleLine(ok.url), `console ${ok.url}/ (sign in with the admin token)`);
      assert.equal(await consoleLine(notBuilt.url), `console not built (GET / answered 503, expected 200): run \`npm run build\`, then open ${notBuilt.url}/`);
      assert.match(await consoleLine(silent.url, 200), new RegExp(`^console ${silent.url}/ did not answer \\(.*(timeout|aborted).*\\): see the hub's log$`, 'i'));
    } finally {
      silent.server.closeAllConnections();
      for (const s of [ok, notBuilt, silent]) s.server.close();
    }
    // A port nobody listens on: a server that was closed before anyone asked it.
    const gone = await serve((_, res) => res.end());
    gone.server.close();
    await once(gone.server, 'close');
    assert.match(await consoleLine(gone.url), new RegExp(`^console ${gone.url}/ did not answer \\(.*ECONNREFUSED.*\\): see the hub's log$`));
  });
});
