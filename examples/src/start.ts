// `npm start`: a real local fleet (issue 5, section 5; issue 10, section 5; explained step by step in
// docs/fleet.md). Builds and signs the example model's three versions, starts a hub (embedded broker,
// SQLite under .data/fleet/hub), pushes the bundles, enrolls agents as separate processes (one
// ring=canary, the rest ring=main), deploys v1 to all, sends them steady summer traffic, waits until all
// run v1, then rolls out v2 (canary -> all, judged by its gates against the devices still on v1) and the
// deliberately regressed 3.0.0 (stopped at canary by its output_shift gate and rolled back), with the
// fleet shown live, until Ctrl-C (or --seconds after the story), then stops agents, then the hub.
// `npm start` runs this through scripts/start.mjs (its command line checked and the build first, then
// this module in the same process, so a signal to npm or to the node process stops the fleet).
import { join } from 'node:path';
import { withDeadline, type Deployment, type Rollout } from '@edgefleet/shared';
import { FLEET_COMMAND_LINE, type FleetOptions as Options } from './command-lines.js';
import { exampleMain } from './example-main.js';
import {
  canaryThenAll, describeWaves, enrollAgents, fleetView, freshFleetDataDir, hubDevices, killOnExit, portOrFree, pushBundle, releaseDataDir, startAgent, startHub, stopAgentsAndHub, stopNoted, stoppedLine, trafficLoop, vibrationRows, waitFor,
  type AgentHandle, type HubHandle, type RunningProcess,
} from './fleet/index.js';
import { makeExampleOutputs } from './vibration/make.js';
import { consoleLine } from './fleet/console-line.js';

const MODEL = 'vibration-anomaly';
const say = (line: string) => void process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n==> ${line}`);

async function deploy(hub: HubHandle, version: string, target: Deployment['target'], reason: string): Promise<Deployment> {
  const d = await hub.api<Deployment>('POST', '/deployments', { model: MODEL, version, target, reason });
  say(`    deployment ${d.id}: ${MODEL} ${version} to ${d.devices.length} device(s) (${JSON.stringify(target)}), reason: "${reason}"`);
  say(`    follow it: npx edgefleet deployments show ${d.id} --watch --hub ${hub.http} --token $(cat ${join(hub.dataDir, 'admin.token')})`);
  return d;
}

/**
 * Rollout gates for the story: PSI over ten bins needs a few hundred predictions (docs/rollouts.md);
 * v2 is retrained to change its outputs on summer data (PSI 0.19-0.27 against v1), 3.0.0 breaks them
 * (~1.2), so output_shift is judged at 0.5 rather than the default 0.2 (docs/rollouts.md "Gates"). The
 * local fleet's agents share this machine's cores with the hub and whatever else runs, so a canary's p95
 * a few ms above its control's is scheduling, not the model: latency_p95 gets 5 ms of slack, not 1.
 */
const STORY_GATES = { minPredictions: 600, stuckSec: 600, outputPsi: 0.5, latencySlackMs: 5 };

/** Runs one rollout to its end; null when a stop signal came first (the fleet then stops in order). */
async function rollout(hub: HubHandle, o: Options, version: string, reason: string, interrupted: () => string | null): Promise<Rollout | null> {
  const waves = canaryThenAll(o.bakeSec);
  const r = await hub.api<Rollout>('POST', '/rollouts', { model: MODEL, version, target: { all: true }, waves, gates: STORY_GATES, reason });
  say(`    rollout ${r.id}: ${MODEL} ${r.fromVersion} -> ${version}, waves ${describeWaves(r)}, reason: "${reason}"`);
  say(`    watch it: npx edgefleet rollout show ${r.id} --watch --hub ${hub.http} --token $(cat ${join(hub.dataDir, 'admin.token')})`);
  // waitFor retries a check that throws, so an interruption is returned as a value: the orderly stop
  // must not wait for the rollout to end (test/src/fleet/stop.test.ts).
  const end = await waitFor(`rollout ${r.id} to end`, async () => {
    if (interrupted()) return 'interrupted' as const;
    const x = await hub.api<Rollout>('GET', `/rollouts/${r.id}`);
    return x.state === 'running' ? undefined : x;
  }, { timeoutMs: 600_000, intervalMs: 1000 });
  return end === 'interrupted' ? null : end;
}

async function run(o: Options, stopSignal: Promise<string>): Promise<number> {
  // Ctrl-C during start-up ends the current wait and goes straight to the orderly stop.
  const interrupted = stopNoted(stopSignal);
  const check = () => { const why = interrupted(); if (why) throw new Error(`interrupted (${why}) while starting`); };
  const procs: RunningProcess[] = [];
  const agents: AgentHandle[] = [];
  let hub: HubHandle | undefined;
  const cleanup: Array<() => Promise<void>> = [];
  // If this process dies without the orderly stop below, take the (detached) children with it.
  const keepOnExit = killOnExit(procs);
  // Removed at stop only once taken as the fleet's (fleet/data-dir.ts): a refused dir is left as it was.
  let ownDataDir = false;
  try {
    step(`fresh data dir ${o.dataDir}`);
    freshFleetDataDir(o.dataDir);
    ownDataDir = true;

    check();
    step('building and signing the example model (three versions; 3.0.0 regressed on purpose) with the example keys');
    const made = await makeExampleOutputs({ outDir: o.out, log: (l) => say(`    ${l}`) });

    check();
    step('starting the hub (embedded MQTT broker, SQLite)');
    const httpPort = o.httpPort ?? await portOrFree(8700);
    const mqttPort = o.mqttPort ?? await portOrFree(1883);
    hub = await startHub({
      dataDir: join(o.dataDir, 'hub'), trustPath: made.trustPath, hubKeyPath: join(made.keysDir, 'hub.key'),
      httpPort, mqttPort, logFile: join(o.dataDir, 'logs', 'hub.log'), config: { rollouts: { tickMs: 1000 } },
    });
    procs.push(hub.process);
    say(`    hub HTTP ${hub.http}${o.httpPort === null && httpPort === 0 ? ' (8700 was taken)' : ''}`);
    say(`    hub MQTT ${hub.mqtt}${o.mqttPort === null && mqttPort === 0 ? ' (1883 was taken)' : ''}`);
    say(`    admin token in ${join(hub.dataDir, 'admin.token')}; logs in ${join(o.dataDir, 'logs')}`);
    say(`    ${await consoleLine(hub.http)}`);

    check();
    step('pushing the bundles to the registry');
    for (const b of made.bundles) {
      const v = await pushBundle(hub, b.path);
      say(`    pushed ${v.name} ${v.version} (${v.bundle.size} bytes, sha256 ${v.bundle.sha256.slice(0, 12)}…)`);
    }

    check();
    step(`enrolling ${o.agents} agent(s) with enrollment tokens (edgefleet-agent enroll)`);
    const enrolled = await enrollAgents(hub, o.agents, {
      dataRoot: join(o.dataDir, 'agents'), tags: (i) => ({ ring: i === 0 ? 'canary' : 'main' }),
    });
    for (const e of enrolled) say(`    ${e.deviceId}  ring=${e.tags['ring']}  data ${e.dataDir}`);

    check();
    step('starting the agents (edgefleet-agent run), each its own process with its API on a free port');
    const started = await Promise.all(enrolled.map((e) => startAgent({
      dataDir: e.dataDir, apiPort: 0, config: { summaries: { windowSec: o.windowSec } }, logFile: join(o.dataDir, 'logs', `${e.deviceId}.log`),
    })));
    for (const [i, a] of started.entries()) {
      agents.push(a);
      procs.push(a.process);
      say(`    ${enrolled[i]?.deviceId}  OIP v2 API ${a.url}`);
    }

    check();
    step(`deploying ${MODEL} 1.0.0 to all devices`);
    await deploy(hub, '1.0.0', { all: true }, 'npm start: first model for the whole fleet');

    step(`sending ${o.rate} prediction request(s)/s to each agent (4 rows of summer vibration measurements each)`);
    const traffic = trafficLoop(agents, vibrationRows({ seed: 11, shift: true }), o.rate, { model: MODEL });
    cleanup.push(() => traffic.stop());
    const byId = new Map(enrolled.map((e, i) => [e.deviceId, i]));
    const served = (id: string) => { const i = byId.get(id); return i === undefined ? undefined : traffic.stats[i]; };

    check();
    step('waiting until every device runs 1.0.0');
    const h = hub;
    await waitFor('every device to report vibration-anomaly 1.0.0 active', async () => {
      if (interrupted()) return 'interrupted';
      const devices = await hubDevices(h.api);
      const on = devices.filter((d) => d.models.some((m) => m.name === MODEL && m.version === '1.0.0' && m.status === 'active'));
      return on.length === enrolled.length ? 'ok' : undefined;
    }, { timeoutMs: 180_000, intervalMs: 1000 });
    say(`    all ${enrolled.length} device(s) run 1.0.0`);

    step('live fleet view (Ctrl-C stops the fleet)');
    const view = fleetView({ api: hub.api, model: MODEL, served, out: process.stdout });
    cleanup.push(() => view.stop());

    // From here a stop signal ends the story and goes to the orderly stop below (exit 0).
    const story: Rollout[] = [];
    if (!interrupted()) {
      step(`rolling out ${MODEL} 2.0.0 (retrained on summer data): canary, judged against the devices still on 1.0.0, then all`);
      const r2 = await rollout(h, o, '2.0.0', 'npm start: the model retrained on summer data', interrupted);
      if (r2) {
        story.push(r2);
        say(`    rollout ${r2.id}: ${r2.state}${r2.stateReason ? ` (${r2.stateReason})` : ''}`);
      }
    }
    if (!interrupted()) {
      step(`rolling out ${MODEL} 3.0.0 (trained on a mislabelled batch): its gates should stop it at canary and roll it back`);
      const r3 = await rollout(h, o, '3.0.0', 'npm start: retrained on a relabelled batch', interrupted);
      if (r3) {
        story.push(r3);
        say(`    rollout ${r3.id}: ${r3.state}${r3.stateReason ? ` (${r3.stateReason})` : ''}`);
      }
    }
    say(`fleet rollouts ${JSON.stringify(story.map((r) => ({ id: r.id, version: r.version, state: r.state, reason: r.stateReason, waves: r.waves.map((w) => ({ name: w.name, state: w.state, notified: w.notified, gates: w.gates.map((g) => ({ name: g.name, value: g.value, threshold: g.threshold, verdict: g.verdict })) })) })))}`);

    step(o.seconds ? `live fleet view for ${o.seconds} s more` : 'live fleet view (Ctrl-C stops the fleet)');
    const why = await Promise.race([stopSignal, ...(o.seconds ? [new Promise<string>((r) => setTimeout(() => r(`${o.seconds} s passed`), o.seconds! * 1000))] : [])]);
    // The stop path must not hang on a hub that stopped answering: a deadline on each call to it.
    await withDeadline(view.stop(), 5000, 'the fleet view').catch(() => undefined);
    const final = await withDeadline(view.refresh(), 5000, 'reading the final fleet state').catch(() => view.last);
    step(`stopping (${why}): traffic, then agents, then the hub`);
    say(`fleet summary ${JSON.stringify({ hub: { http: hub.http, mqtt: hub.mqtt }, devices: final?.devices ?? [], deployments: final?.deployments ?? [] })}`);
    return 0;
  } finally {
    for (const c of cleanup.reverse()) await withDeadline(c(), 5000, 'stopping traffic and the view').catch(() => undefined);
    const { codes, hubCode } = await stopAgentsAndHub(agents, hub);
    keepOnExit();
    const line = stoppedLine(codes, hubCode);
    if (line) say(line);
    releaseDataDir(o.dataDir, ownDataDir, o.keepData, say);
  }
}

await exampleMain({ ...FLEET_COMMAND_LINE, run, failed: 'start failed' });
