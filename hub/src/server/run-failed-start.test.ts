// test-run: own process (it waits HUB_STOP_EXIT_MS for a real hub process: short files sharing one would wait too)
// A real `edgefleet-hub run` whose start fails (its HTTP port taken) while something else holds the event loop
// (a preload's timer, standing for a handle the failed start left): the process is gone HUB_STOP_EXIT_MS after the
// failure, as after a signal (docs/hub.md "Stopping"), with the failure's exit code and error line. Before, it
// stayed up for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, startProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { HUB_STOP_EXIT_MS } from './stop-deadlines.js';

// A ref'd timer that never fires: nothing in the hub ends it.
const HOLD_LOOP = `data:text/javascript,${encodeURIComponent('setInterval(() => {}, 1 << 30);')}`;

test('edgefleet-hub run: a failed start with the event loop held still exits, with the failure\'s code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hub-failed-start-'));
  const taken = createServer();
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
    const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'data'), '--trust', trust.path, '--hub-key', keys.files.hub.keyPath,
      '--http-port', String(port), '--mqtt-port', '0', '--log-level', 'warn'], { nodeArgs: ['--import', HOLD_LOOP] });
    try {
      await hub.waitForLine(/^error \[CONFIG_INVALID\]: httpPort \(--http-port\)/, 60_000);
      const { child } = hub;
      const exit = await waitFor('the hub process to exit after its failed start',
        () => (child.exitCode === null && child.signalCode === null ? undefined : { code: child.exitCode, signal: child.signalCode }),
        { timeoutMs: HUB_STOP_EXIT_MS + 30_000, intervalMs: 200 });
      assert.deepEqual(exit, { code: 1, signal: null }, hub.output().stderr);
      assert.match(hub.output().stdout, /"msg":"still running after stop: exiting"/);
      assert.equal(hub.output().stderr.match(/^error \[/gm)?.length, 1, `the failure told once: ${hub.output().stderr}`);
    } finally {
      hub.kill();
    }
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
