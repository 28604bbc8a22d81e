// The desktop app's first-run check (desktop/src/main/hub-check.ts) against a real hub: its admin token
// is accepted, a wrong token is refused with the hub's code and message, and a hub that stopped is said
// to be unreachable. The check's deadline, bounds and quit are desktop/src/main/hub-check.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeKeys, makeTrust, repoRoot } from '@edgefleet/examples';
import type { Hub } from '@edgefleet/hub';
import { taggedHub } from '../sim/tagged-hub.js';

type CheckHub = (address: string, token: string) => Promise<void>;

describe('desktop: the first-run page\'s hub check against a real hub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-desktop-check-'));
  let hub: Hub | undefined;
  let http = '';
  let token = '';
  let checkHub: CheckHub;

  before(async () => {
    // Built by tsc -b (the desktop workspace is not a dependency of the tests).
    ({ checkHub } = (await import(pathToFileURL(join(repoRoot(), 'desktop', 'dist', 'main', 'hub-check.js')).href)) as { checkHub: CheckHub });
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const h = await taggedHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, devices: [], tags: () => ({}) });
    [hub, http, token] = [h.hub, h.addrs.http, h.token];
  });
  after(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the hub\'s token, refuses a wrong one with the hub\'s words, and says when the hub is gone', async () => {
    await checkHub(http, token);
    const wrong = await checkHub(http, 'efa_not-a-token-of-this-hub').then(() => assert.fail('accepted'), (e: unknown) => e as { code: string; message: string });
    assert.equal(wrong.code, 'UNAUTHENTICATED');
    assert.match(wrong.message, new RegExp(`^the hub at ${http.replace(/[.]/g, '\\.')} refused the token \\(UNAUTHENTICATED: [^)]+\\): expected an API token of that hub \\(edgefleet tokens create NAME`));
    await hub?.stop();
    hub = undefined;
    const gone = await checkHub(http, token).then(() => assert.fail('accepted'), (e: unknown) => e as { code: string; message: string });
    assert.equal(gone.code, 'IO_ERROR');
    assert.match(gone.message, new RegExp(`^cannot reach the hub at ${http.replace(/[.]/g, '\\.')}: fetch failed: `));
  });
});
