// The loop, end to end (issue 11 section 4; docs/drift.md "The loop, end to end"), on a local fleet of
// real processes: a fleet on 1.0.0 gets summer traffic; a drift.psi alert rule with a retrain action
// fires to a local training pipeline (receiver.ts, which checks the webhook's signature); the pipeline
// captures the drifted cohort's requests sealed to the operators' key, fetches and opens them,
// labels them, retrains the model with the TypeScript trainer, packs, signs and pushes 1.1.0
// (retrain.ts), and rolls it out canary -> all with gates. Every wait has a deadline; a stop signal
// ends the current wait and goes to the orderly stop (traffic, agents, hub, receiver).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  newCaptureKeyFile, parseCaptureKeyFile, withDeadline, writeFileAtomic,
  type AlertRule, type Capture, type DriftResponse, type Rollout, type WebhookEvent,
} from '@edgefleet/shared';
import {
  canaryThenAll, describeWaves, enrollAgents, freshFleetDataDir, hubDevices, killOnExit, pushBundle, releaseDataDir, startAgent, startHub, stopAgentsAndHub, stopNoted, trafficLoop, vibrationRows, waitFor,
  type AgentHandle, type HubHandle, type RunningProcess, type TrafficLoop,
} from '../fleet/index.js';
import { buildExampleBundle, loadOrMakeKeys, makeTrust } from '../testkit/fixtures.js';
import { generateVibration } from '../vibration/data.js';
import { startReceiver, type Receiver } from './receiver.js';
import { captureCohort, concatDatasets, fetchCaptured, labelCaptured, retrainAndPush } from './retrain.js';

export const LOOP_MODEL = 'vibration-anomaly';
export const LOOP_VERSION = '1.1.0';
/** The summer traffic: vibrationRows({seed, shift}) draws from generateVibration with these (its default pool). */
const TRAFFIC = { seed: 11, poolRows: 2048 };
/**
 * The rollout's gates (docs/rollouts.md "Gates"): the defaults, but a p95 latency may exceed the control's
 * by 10 ms rather than 1 ms: this model answers in 1-3 ms, and on a busy laptop running the whole
 * fleet that difference is scheduling noise (the model's own policy allows 50 ms).
 */
const LOOP_GATES = { stuckSec: 600, latencySlackMs: 10 };

export interface LoopOptions {
  agents: number;
  dataDir: string;
  /** Example keys and trust.json (kept across runs, shared with `npm start`); bundles go to OUT/loop. */
  out: string;
  keepData: boolean;
  /** Agents' summary window, s. */
  windowSec: number;
  /** Infer requests per second per agent (4 rows each). */
  rate: number;
  /** Canary bake, s (the last wave bakes half as long). */
  bakeSec: number;
  /** Rollout gates' minPredictions. */
  minPredictions: number;
  /** Override of the model's drift minimum predictions per group (null: the hub's default, 1000). */
  driftMinPredictions: number | null;
  /** How long the drift must last before the alert fires, s (gives each device time to reach a verdict of its own). */
  alertForSec: number;
  /** Requests captured per drifted device. */
  captureRequests: number;
  /** Deadline of each step that waits on the fleet, s. */
  stepTimeoutSec: number;
  /** 1.0.0 trained with the small test sizes (faster). */
  small: boolean;
  log: (line: string) => void;
}

export interface LoopResult {
  alertId: number;
  reportId: number | null;
  drifted: string[];
  captureId: number;
  capturedRequests: number;
  /** Captured rows that got a label (trained on, with 1.0.0's training rows). */
  labelledRows: number;
  version: string;
  /** Held-out summer rows: the new version's and 1.0.0's accuracy. */
  accuracy: { retrained: number; previous: number };
  rolloutId: string;
  rolloutState: Rollout['state'];
  /** Device id -> the version it reports active at the end. */
  serving: Record<string, string | null>;
  /** Webhooks the receiver refused (bad signature). */
  refused: number;
}

/** Runs the loop; throws "interrupted (SIG)" when `stopSignal` settles first. Always stops the fleet. */
export async function runLoop(o: LoopOptions, stopSignal: Promise<string>): Promise<LoopResult> {
  const interrupted = stopNoted(stopSignal);
  const check = (what: string) => { const why = interrupted(); if (why) throw new Error(`interrupted (${why}) ${what}`); };
  const say = o.log;
  const step = (line: string) => say(`\n==> ${line}`);
  const detail = (line: string) => say(`    ${line}`);
  const deadline = o.stepTimeoutSec * 1000;
  /** Waits for `check` with the step deadline; an interruption ends the wait as a value, then throws. */
  const until = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    const v = await waitFor(what, async () => (interrupted() ? ('interrupted' as const) : fn()), { timeoutMs: deadline, intervalMs: 1000 });
    if (v === 'interrupted') throw new Error(`interrupted (${interrupted()}) while waiting for ${what}`);
    return v as T;
  };
  const procs: RunningProcess[] = [];
  const agents: AgentHandle[] = [];
  let hub: HubHandle | undefined;
  let receiver: Receiver | undefined;
  let traffic: TrafficLoop | undefined;
  const keepOnExit = killOnExit(procs);
  // Removed at stop only once taken as the fleet's (fleet/data-dir.ts): a refused dir is left as it was.
  let ownDataDir = false;
  try {
    step(`fresh data dir ${o.dataDir}`);
    freshFleetDataDir(o.dataDir);
    ownDataDir = true;

    step('keys: the example release keys, and the operators\' capture key (its private half stays here, never on the hub)');
    const keys = await loadOrMakeKeys(join(o.out, 'keys'));
    const trust = makeTrust(o.out, keys);
    const captureKeyPath = join(o.dataDir, 'operator-capture.key');
    const captureKey = newCaptureKeyFile();
    writeFileAtomic(captureKeyPath, `${JSON.stringify(captureKey, null, 2)}\n`, 0o600);
    const boxKey = parseCaptureKeyFile(JSON.stringify(captureKey), captureKeyPath);
    detail(`trust ${trust.path}; capture key ${captureKeyPath} (key id ${captureKey.keyId.slice(0, 12)}…)`);

    check('while building');
    step(`training, packing and signing ${LOOP_MODEL} 1.0.0 (baseline data: winter)`);
    const bundlesDir = join(o.out, 'loop');
    const v1 = await buildExampleBundle({ dir: bundlesDir, version: '1.0.0', keys, full: !o.small });
    detail(`${v1.path}: held-out accuracy ${v1.model.metrics.accuracy.toFixed(4)}, AUC ${v1.model.metrics.auc.toFixed(4)}`);

    step('starting the training pipeline: a webhook receiver on 127.0.0.1 that checks X-Edgefleet-Signature');
    const secret = randomBytes(24).toString('hex');
    let onRetrain!: (e: WebhookEvent) => void;
    const retrainEvent = new Promise<WebhookEvent>((r) => { onRetrain = r; });
    receiver = await startReceiver(secret, (e) => onRetrain(e), detail);
    detail(`receiver ${receiver.url}`);

    check('while starting');
    step('starting the hub (embedded MQTT broker, SQLite, the operators\' capture public key)');
    hub = await startHub({
      dataDir: join(o.dataDir, 'hub'), trustPath: trust.path, hubKeyPath: join(keys.dir, 'hub.key'), logFile: join(o.dataDir, 'logs', 'hub.log'),
      config: { rollouts: { tickMs: 1000 }, alerts: { evaluateEveryMs: 2000 }, capture: { publicKey: captureKey.public } },
    });
    procs.push(hub.process);
    const h = hub;
    const cli = `--hub ${h.http} --token $(cat ${join(h.dataDir, 'admin.token')})`;
    detail(`hub HTTP ${h.http}, MQTT ${h.mqtt}; logs in ${join(o.dataDir, 'logs')}`);
    const pushed = await pushBundle(h, v1.path);
    detail(`pushed ${pushed.name} ${pushed.version}`);
    if (o.driftMinPredictions !== null) {
      await h.api('PUT', `/models/${LOOP_MODEL}/drift-settings`, { minPredictions: o.driftMinPredictions, reason: 'loop example: a verdict sooner' });
      detail(`drift verdicts from ${o.driftMinPredictions} predictions per group`);
    }

    check('while starting');
    step(`enrolling and starting ${o.agents} agent(s) (one ring=canary, the rest ring=main)`);
    const enrolled = await enrollAgents(h, o.agents, { dataRoot: join(o.dataDir, 'agents'), tags: (i) => ({ ring: i === 0 ? 'canary' : 'main' }) });
    const started = await Promise.all(enrolled.map((e) => startAgent({
      dataDir: e.dataDir, apiPort: 0, config: { summaries: { windowSec: o.windowSec }, capture: { flushSec: 1 } }, logFile: join(o.dataDir, 'logs', `${e.deviceId}.log`),
    })));
    for (const a of started) { agents.push(a); procs.push(a.process); }
    for (const [i, e] of enrolled.entries()) detail(`${e.deviceId} ring=${e.tags['ring']} API ${started[i]?.url}`);
    await h.api('POST', '/deployments', { model: LOOP_MODEL, version: '1.0.0', target: { all: true }, reason: 'loop example: the winter model' });
    /** Device id -> the version of the model it reports active. */
    const activeVersions = async (): Promise<Record<string, string | null>> => {
      const devices = await hubDevices(h.api);
      return Object.fromEntries(devices.map((d) => [d.id, d.models.find((m) => m.name === LOOP_MODEL && m.status === 'active')?.version ?? null]));
    };
    const allOn = async (version: string) => {
      const v = await activeVersions();
      return enrolled.every((e) => v[e.deviceId] === version) ? v : undefined;
    };
    await until(`every device to run ${LOOP_MODEL} 1.0.0`, () => allOn('1.0.0'));
    detail(`all ${enrolled.length} device(s) run 1.0.0`);

    step(`the alert rule: drift.psi >= 0.2 on the model for ${o.alertForSec} s, action retrain -> the receiver`);
    const rule = await h.api<AlertRule>('POST', '/alert-rules', {
      name: 'summer-drift', metric: 'drift.psi', model: LOOP_MODEL, threshold: 0.2, forSec: o.alertForSec, windowSec: 3600, severity: 'warning',
      actions: [{ type: 'retrain', url: receiver.url, secret }],
    });
    detail(`rule ${rule.id} "${rule.name}" (follow it: npx edgefleet alerts ls ${cli})`);

    step(`summer arrives: ${o.rate} request(s)/s per agent of shifted rows (warmer air, recalibrated velocity sensors, more compressors)`);
    traffic = trafficLoop(agents, vibrationRows({ seed: TRAFFIC.seed, poolRows: TRAFFIC.poolRows, shift: true }), o.rate, { model: LOOP_MODEL });

    step('waiting for the drift alert to fire and its retrain webhook to reach the pipeline');
    const event = await until('the retrain webhook (drift.psi alert firing)', async () => Promise.race([retrainEvent, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]));
    // The retrain webhook carries the drift report stored when the alert fired, by device.
    const report = (event.report ?? null) as DriftResponse | null;
    const reportId = event.alert.reportId;
    const drifted = (report?.groups ?? []).filter((g) => g.drifted).map((g) => g.key).filter((k) => enrolled.some((e) => e.deviceId === k));
    const cohort = drifted.length ? drifted : enrolled.map((e) => e.deviceId);
    detail(`alert ${event.alert.id} fired: max PSI ${event.alert.value?.toFixed(3)} >= ${event.alert.threshold} on ${event.alert.key}; drift report ${reportId ?? 'none'}`);
    detail(`drifted devices: ${drifted.length ? drifted.join(', ') : 'none had enough predictions of its own yet; capturing from all'}`);

    check('before capturing');
    step(`capturing ${o.captureRequests} request(s) from each drifted device, sealed on the box to the capture key`);
    const capture = await captureCohort(h, {
      model: LOOP_MODEL, version: '1.0.0', devices: cohort, maxRows: o.captureRequests, durationSec: Math.max(60, o.stepTimeoutSec),
      reason: `loop example: retrain after alert ${event.alert.id}`,
    }, { timeoutMs: deadline, interrupted, log: detail });
    const captured = await fetchCaptured(h, capture.id, boxKey);
    detail(`fetched and opened ${captured.length} request(s) of capture ${capture.id} here (the hub holds ciphertext only)`);
    // Fetched: the capture ends and its ciphertext leaves the hub (docs/hub.md "Data capture": purged).
    await h.api('DELETE', `/captures/${capture.id}?reason=${encodeURIComponent('loop example: fetched')}`);
    const purged = await h.api<Capture>('POST', `/captures/${capture.id}/purge`, { reason: 'loop example: fetched into the training set' });
    detail(`stopped capture ${capture.id} and purged its ${purged.purged?.bytes ?? 0} bytes of sealed chunks from the hub`);
    const { data, unlabelled } = labelCaptured(captured, generateVibration({ rows: TRAFFIC.poolRows, seed: TRAFFIC.seed, shift: true }));
    detail(`labelled ${data.rows} row(s) from the known labels of the traffic's dataset (the stand-in for maintenance records); ${unlabelled} without a label dropped`);
    if (data.rows < 50) throw new Error(`capture ${capture.id} gave ${data.rows} labelled row(s); expected at least 50 to train on`);

    check('before training');
    step(`retraining ${LOOP_MODEL} ${LOOP_VERSION} with the TypeScript trainer on 1.0.0's training rows plus the captured ones; packing, signing, pushing`);
    const train = concatDatasets(v1.model.train, data);
    detail(`${v1.model.train.rows} winter rows (1.0.0's training set) + ${data.rows} captured summer rows; the reference profile (what drift is judged against) from the summer rows`);
    const re = await retrainAndPush(h, {
      version: LOOP_VERSION, train, reference: data, uri: `${v1.model.manifest.provenance.data[0]?.uri ?? 'synthetic:vibration'} + ${h.http}/api/v1/captures/${capture.id}`, previous: v1.model.onnx, keys, trust: trust.body, dir: bundlesDir, holdoutRows: 2000,
      reason: `retrained on 1.0.0's training rows plus ${data.rows} rows captured from ${cohort.length} drifted device(s) (capture ${capture.id}) after drift alert ${event.alert.id}`,
    });
    detail(`${re.path}: signed by the release key, verified against trust.json, pushed as ${re.version.name} ${re.version.version}`);
    detail(`held-out summer rows: ${LOOP_VERSION} accuracy ${re.metrics.accuracy.toFixed(4)}, AUC ${re.metrics.auc.toFixed(4)}, log loss ${re.metrics.logLoss.toFixed(4)}`);
    detail(`                      1.0.0 accuracy ${re.previous.accuracy.toFixed(4)}, AUC ${re.previous.auc.toFixed(4)}, log loss ${re.previous.logLoss.toFixed(4)}; threshold rule accuracy ${re.thresholdRule.accuracy.toFixed(4)}`);

    check('before the rollout');
    step(`rolling out ${LOOP_VERSION}: canary, judged against the devices still on 1.0.0, then all`);
    const waves = canaryThenAll(o.bakeSec);
    const r = await h.api<Rollout>('POST', '/rollouts', {
      model: LOOP_MODEL, version: LOOP_VERSION, target: { all: true }, waves, gates: { ...LOOP_GATES, minPredictions: o.minPredictions },
      reason: `loop example: retrained after alert ${event.alert.id} on capture ${capture.id}`,
    });
    detail(`rollout ${r.id}: ${describeWaves(r)}`);
    let lastWave = '';
    const end = await until(`rollout ${r.id} to end`, async () => {
      const x = await h.api<Rollout>('GET', `/rollouts/${r.id}`);
      const w = x.waves.map((v) => `${v.name} ${v.state}`).join(', ');
      if (w !== lastWave) detail(`rollout ${r.id}: ${w}`);
      lastWave = w;
      return x.state === 'running' ? undefined : x;
    });
    detail(`rollout ${end.id}: ${end.state}${end.stateReason ? ` (${end.stateReason})` : ''}`);
    for (const w of end.waves) detail(`  ${w.name}: ${w.gates.map((g) => `${g.name} ${g.value === null ? '-' : Number(g.value.toFixed(4))} ${g.verdict}`).join(', ')}`);
    if (end.state !== 'completed') throw new Error(`rollout ${end.id} ended ${end.state}${end.stateReason ? `: ${end.stateReason}` : ''}; expected completed (see edgefleet rollout show ${end.id})`);
    const serving = await until(`every device to run ${LOOP_VERSION}`, () => allOn(LOOP_VERSION));

    step(`the loop is closed; the evidence of each step (in ${join(h.dataDir, 'hub.db')}; --keep-data keeps it)`);
    detail(`alert    ${event.alert.id} (rule "${rule.name}", drift report ${reportId ?? 'none'}): npx edgefleet alerts ls ${cli}`);
    detail(`capture  ${capture.id} (${captured.length} request(s), ${data.rows} labelled rows): npx edgefleet capture show ${capture.id} ${cli}`);
    detail(`model    ${LOOP_MODEL} ${LOOP_VERSION} (${re.path}): GET ${h.http}/api/v1/models/${LOOP_MODEL}/versions/${LOOP_VERSION}`);
    detail(`rollout  ${end.id} (${end.state}): npx edgefleet rollout show ${end.id} ${cli}`);
    return {
      alertId: event.alert.id, reportId, drifted, captureId: capture.id, capturedRequests: captured.length, labelledRows: data.rows,
      version: re.version.version, accuracy: { retrained: re.metrics.accuracy, previous: re.previous.accuracy }, rolloutId: end.id, rolloutState: end.state, serving, refused: receiver.refused,
    };
  } finally {
    step('stopping: traffic, agents, the hub, the receiver');
    await withDeadline(traffic?.stop() ?? Promise.resolve(), 5000, 'stopping traffic').catch(() => undefined);
    const stopped = await stopAgentsAndHub(agents, hub);
    const hubCode = stopped.hubCode === undefined ? 0 : stopped.hubCode;
    await withDeadline(receiver?.stop() ?? Promise.resolve(), 5000, 'stopping the receiver').catch(() => undefined);
    keepOnExit();
    say(stopped.codes.every((c) => c === 0) && hubCode === 0 ? `stopped cleanly (${agents.length} agent(s), hub)` : `stopped; exit codes: agents ${stopped.codes.join(',')}, hub ${hubCode}`);
    releaseDataDir(o.dataDir, ownDataDir, o.keepData, say);
  }
}
