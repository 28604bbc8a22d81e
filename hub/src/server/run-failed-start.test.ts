// test-run: own process (it waits HUB_STOP_EXIT_MS for a real hub process: short files sharing one would wait too)
// A real `edgefleet-hub run` whose start fails (its HTTP port taken): while something else holds the event loop (a
// preload's timer, standing for a handle the failed start left), the process is gone HUB_STOP_EXIT_MS after the
// failure, as after a signal (docs/hub.md "Stopping"), with the failure's exit code and error line (before, it stayed
// up for good); with a part whose stop never ends (a preload makes ingest's stop promise never settle), the stop cuts
// that step at its deadline, says which, and the process ends by itself within the stop's budget.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys, makeTrust, startProcess } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';
import { HUB_STOP_EXIT_MS } from './stop-deadlines.js';

const preload = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;
// A ref'd timer that never fires: nothing in the hub ends it.
const HOLD_LOOP = preload('setInterval(() => {}, 1 << 30);');
// Ingest's stop does its work but its promise never settles (nothing held: a stop waiting on a peer that never
// answers). The module is the one the hub loads: beside the entry, from source (.ts, tsx) or built (.js).
const INGEST_STOP_HANGS = preload(`
  import { pathToFileURL } from 'node:url';
  const entry = pathToFileURL(process.argv[1]);
  const { IngestService } = await import(new URL('../ingest/service' + (entry.pathname.endsWith('.ts') ? '.ts' : '.js'), entry).href);
  const stop = IngestService.prototype.stop;
  IngestService.prototype.stop = function () {
    stop.call(this).catch(() => undefined);
    return new Promise(() => {});
  };
`);

interface Exited { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** `edgefleet-hub run` (log level warn) with `nodeArgs` on an HTTP port another server holds, until it exits. */
async function failedStart(nodeArgs: string[]): Promise<Exited> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-hub-failed-start-'));
  const taken = createServer();
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
    const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'data'), '--trust', trust.path, '--hub-key', keys.files.hub.keyPath,
      '--http-port', String(port), '--mqtt-port', '0', '--log-level', 'warn'], { nodeArgs });
    try {
      await hub.waitForLine(/^error \[CONFIG_INVALID\]: httpPort \(--http-port\)/, 60_000);
      const { child } = hub;
      const exit = await waitFor('the hub process to exit after its failed start',
        () => (child.exitCode === null && child.signalCode === null ? undefined : { code: child.exitCode, signal: child.signalCode }),
        { timeoutMs: HUB_STOP_EXIT_MS + 30_000, intervalMs: 200 });
      const out = hub.output();
      assert.equal(out.stderr.match(/^error \[/gm)?.length, 1, `the failure told once: ${out.stderr}`);
      return { ...exit, ...out };
    } finally {
      hub.kill();
    }
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Concurrently: the first waits for the exit by force, the second only for its stop.
describe('edgefleet-hub run: a failed start', { concurrency: true }, () => {
  it('with the event loop held still exits, with the failure\'s code', async () => {
    const r = await failedStart(['--import', HOLD_LOOP]);
    assert.deepEqual([r.code, r.signal], [1, null], r.stderr);
    assert.match(r.stdout, /"msg":"still running after stop: exiting"/);
  });

  it('whose part never stops exits within the stop budget, naming that part', async () => {
    const r = await failedStart(['--import', INGEST_STOP_HANGS]);
    assert.deepEqual([r.code, r.signal], [1, null], r.stderr);
    const cut = r.stdout.split('\n').filter((l) => l.includes('"msg":"stopping: ingest"'));
    assert.equal(cut.length, 1, r.stdout);
    assert.match(cut[0] as string, /"err":"ingest did not finish within \d+ ms"/);
    // Gone by itself once the stop ended, not by the exit by force HUB_STOP_EXIT_MS after the failure.
    assert.doesNotMatch(r.stdout, /still running after stop/);
  });
});
