// Config restarts spaced under systemd's start limit, end to end (config-restarts.ts, decision 0061): the
// real `edgefleet-agent run` program, enrolled with a bare MQTT broker in the test, gets hub-signed desired
// documents whose remote settings need a restart, with its record of recent config restarts
// (DATA/config-restarts.json, this boot's monotonic clock) already holding two. It keeps serving and
// reports `restarting` until the oldest of them leaves the window, then exits 75; started again (as
// systemd would), a restart it would have to wait ~2 minutes for is withdrawn by a newer configuration
// that puts the running values back, and, asked for again, dropped by SIGTERM, which stops it at once with
// exit 0 and the new settings stored for the next start. A start that fails (a bad config) is
// never delayed: it exits 1 at once, as a crash loop must for the start limit to stop it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { runCli, startProcess, waitFor, type RunningProcess } from '@edgefleet/examples';
import { CREDENTIALS_SCHEMA, DESIRED_SCHEMA, deviceTopic, settingsHash, signEnvelope, type DesiredBody, type ReportedState } from '@edgefleet/shared';
import { readRemoteConfig } from './config-remote.js';
import { configRestartsPath, readRestarts, restartSpacing, systemRestartClock } from './config-restarts.js';
import { STOP_EXIT_MS } from './agent.js';
import { makeKit, req, type Kit } from './testing.js';

const CLI = 'agent/src/cli/main.ts';
const ID = 'box-r';
const SPACING = restartSpacing(STOP_EXIT_MS);
const clock = systemRestartClock();
const hasBootId = existsSync('/proc/sys/kernel/random/boot_id'); // elsewhere each process has its own clock id

describe('config restarts spaced under the start limit (real agent process)', { skip: !hasBootId && 'needs /proc/sys/kernel/random/boot_id' }, () => {
  let kit: Kit;
  let data: string;
  let broker: Aedes;
  let server: Server;
  let watcher: mqtt.MqttClient;
  const states: ReportedState[] = [];
  const procs: RunningProcess[] = [];

  before(async () => {
    kit = makeKit('ef-restarts-e2e-');
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    data = join(kit.dir, 'data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: ID, secret: 's'.repeat(24), brokers: [url] }));
    writeFileSync(join(data, 'trust.json'), JSON.stringify(kit.trust.doc));
    watcher = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'test-watcher' });
    watcher.on('message', (_t, payload) => states.push(JSON.parse(payload.toString()) as ReportedState));
    await watcher.subscribeAsync(deviceTopic(ID, 'state'), { qos: 1 });
  });
  after(async () => {
    for (const p of procs) await p.stop('SIGTERM', 20_000);
    await watcher?.endAsync();
    await new Promise<void>((r) => broker.close(() => r()));
    server?.close();
    kit.cleanup();
  });

  const publish = (seq: number, settings: Record<string, unknown>) => {
    const now = Date.now();
    const body: DesiredBody = {
      schema: DESIRED_SCHEMA, deviceId: ID, seq, issued: new Date(now).toISOString(), expires: new Date(now + 86_400_000).toISOString(),
      models: [], config: {}, agentConfig: { sha256: settingsHash(settings), sources: [{ scope: 'fleet', version: seq }], settings },
    };
    return new Promise<void>((resolve, reject) => {
      broker.publish({ cmd: 'publish', topic: deviceTopic(ID, 'desired'), payload: Buffer.from(JSON.stringify(signEnvelope(body, [kit.keys.hub]))), qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  };

  /** Starts the daemon and waits until it serves and has reported its state over the link. */
  async function start(): Promise<{ p: RunningProcess; api: string }> {
    const before = states.length;
    const p = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
    procs.push(p);
    const ready = JSON.parse(await p.waitForLine(/"msg":"ready"/, 60_000)) as { api: string };
    await waitFor('the state reported over the link', () => states.length > before || undefined, { timeoutMs: 30_000, intervalMs: 20 });
    return { p, api: ready.api };
  }

  /** The restart line's wait, once the agent decided to wait. */
  async function spacedWait(p: RunningProcess): Promise<number> {
    const line = await p.waitForLine(/restart for the remote configuration in \d+ s/, 30_000);
    return (JSON.parse(line) as { waitMs: number }).waitMs;
  }

  it('waits for the oldest recorded restart to leave the window, serving meanwhile, then exits 75; a restart waiting its turn is withdrawn by a newer configuration, or dropped by SIGTERM', async () => {
    const a = await start();
    // Two config restarts on record, the older one leaving the window 4 s from now.
    const now = clock.monotonicMs();
    const oldest = now - SPACING.windowMs + 4000;
    writeFileSync(configRestartsPath(data), JSON.stringify({ boot: clock.bootId, at: [oldest, now - 1000] }));
    await publish(1, { 'runtime.intraOpThreads': 2 });
    const waitMs = await spacedWait(a.p);
    assert.ok(waitMs > 0 && waitMs <= 4000, `waits ${waitMs} ms`);
    await waitFor('the state says restarting', () => states.some((s) => s.config?.status === 'restarting') || undefined, { timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(a.p.child.exitCode, null, 'still running while it waits');
    assert.equal((await req(a.api, 'GET', '/v2/health/live')).status, 200, 'and serving');
    const exit = await a.p.exited;
    const exitedAt = clock.monotonicMs();
    assert.deepEqual(exit, { code: 75, signal: null }, a.p.output().stderr.slice(-2000));
    assert.ok(exitedAt >= oldest + SPACING.windowMs, 'not before the oldest restart left the window');
    const record = readRestarts(data, clock);
    assert.equal(record.length, 2, 'the one that left the window is dropped, this one added');
    assert.ok(record[1]! >= oldest + SPACING.windowMs && record[1]! <= exitedAt);

    // Started again, as systemd would: with the stored settings, confirmed once it runs.
    const b = await start();
    await waitFor('the stored settings confirmed', () => readRemoteConfig(data)?.confirmed || undefined, { timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(readRemoteConfig(data)?.settings, { 'runtime.intraOpThreads': 2 });
    // Another restart: two restarts in the last seconds, so this one would wait about two minutes.
    await publish(2, { 'runtime.intraOpThreads': 3 });
    assert.ok(await spacedWait(b.p) > 60_000);
    // Put back before its turn: the newest configuration needs no restart, so the waiting one is withdrawn.
    const back = { 'runtime.intraOpThreads': 2, 'summaries.windowSec': 30 };
    await publish(3, back);
    await b.p.waitForLine(/restart for the remote configuration withdrawn/, 30_000);
    await waitFor('the state says applied', () => states.some((s) => s.config?.status === 'applied' && s.config.sha256 === settingsHash(back)) || undefined, { timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual([readRemoteConfig(data)?.settings, readRemoteConfig(data)?.confirmed], [back, true], 'stored as it runs');
    assert.equal(b.p.child.exitCode, null, 'still running');
    // Asked for again: spaced again.
    await publish(4, { 'runtime.intraOpThreads': 3 });
    const waits = () => (b.p.output().stdout + b.p.output().stderr).match(/restart for the remote configuration in \d+ s/g)?.length ?? 0;
    await waitFor('a second spaced wait', () => waits() >= 2 || undefined, { timeoutMs: 30_000, intervalMs: 20 });
    const t0 = performance.now();
    const stopped = await b.p.stop('SIGTERM', 20_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, 'a signal stops it as usual, without the restart');
    assert.ok(performance.now() - t0 < STOP_EXIT_MS, 'at once, not after the wait');
    assert.deepEqual(readRemoteConfig(data)?.settings, { 'runtime.intraOpThreads': 3 }, 'stored: the next start runs with it');
    assert.equal(readRemoteConfig(data)?.confirmed, false);
    assert.deepEqual(readRestarts(data, clock), record, 'no restart recorded');
  });

  it('never delays a start that fails: a bad config exits 1 at once however many restarts are on record', async () => {
    const now = clock.monotonicMs();
    writeFileSync(configRestartsPath(data), JSON.stringify({ boot: clock.bootId, at: [now - 2000, now - 1000] }));
    const bad = join(kit.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ concurrency: { perModel: 0 } }));
    const t0 = performance.now();
    const r = await runCli(CLI, ['run', '--data-dir', data, '--api-port', '0', '--config', bad]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /concurrency\.perModel/);
    assert.ok(performance.now() - t0 < 30_000, 'not held back by the restart record');
    assert.deepEqual(readRestarts(data, clock), [now - 2000, now - 1000], 'a failed start is not a config restart');
    assert.equal(JSON.parse(readFileSync(configRestartsPath(data), 'utf8')).at.length, 2);
  });
});
