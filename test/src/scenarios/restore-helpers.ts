// The steps the restore scenarios share (restore-keeps-models.test.ts, restore-parked-windows.test.ts):
// a box serving the example model when the hub is backed up, and a second model pushed and deployed after
// the backup; then the hub stopped and the backup restored and started on the same ports.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, datasetRows, generateVibration, randomMlp, runCli, INPUT_NAME, N_FEATURES, type BundleResult } from '@edgefleet/examples';
import { pushBundle, startHub, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

const HUB = 'hub/src/server/main.ts';
export const OTHER = 'other-model';

/** A hub and one enrolled box (its agent started by the test), made before the tests and removed after them. */
export interface RestoreBox {
  dir: string;
  s: HubSetup;
  dev: EnrolledAgent;
  agent?: AgentHandle;
  /** The version the box answers one row of `model` with, or the status and code of its refusal. */
  served(model: string): Promise<string>;
  /** Predictions the box answered, by model. */
  answered: Record<string, number>;
}

/** Registers the suite's before and after: a hub in a temp dir named by `prefix` and the box `id` enrolled. */
export function restoreBox(prefix: string, id: string): RestoreBox {
  const rows = datasetRows(generateVibration({ rows: 1, seed: 6 }));
  const box = {
    answered: {},
    async served(model: string) {
      const r = await infer(box.agent!.url, rows, model);
      if (r.status !== 200) return `${r.status} ${r.json?.code as string}`;
      box.answered[model] = (box.answered[model] ?? 0) + 1;
      return r.json?.model_version as string;
    },
  } as RestoreBox;
  before(async () => {
    box.dir = mkdtempSync(join(tmpdir(), prefix));
    box.s = await fixtureAndHub(box.dir);
    [box.dev] = await enrollAgents(box.s.hub, 1, { dataRoot: join(box.dir, 'agents'), id: () => id }) as [EnrolledAgent];
  });
  after(async () => {
    await box.agent?.stop();
    await box.s?.hub.stop();
    rmSync(box.dir, { recursive: true, force: true });
  });
  return box;
}

/**
 * Deploys the example 1.0.0 and waits until `served` answers it, backs the hub up to DIR/backup, then pushes
 * and deploys OTHER 1.0.0 and waits until it is served. `served(model)` is the version the box answers with.
 */
export async function backupThenOtherModel(s: HubSetup, dir: string, served: (model: string) => Promise<string>): Promise<{ backupDir: string; other: BundleResult }> {
  await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'before the backup' });
  await waitFor('1.0.0 serving', async () => ((await served(MODEL)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
  const backupDir = join(dir, 'backup');
  const b = await runCli(HUB, ['backup', '--data-dir', s.hub.dataDir, '--out', backupDir]);
  assert.equal(b.code, 0, b.stderr);

  const m = randomMlp({ inputDim: N_FEATURES, hidden: [16], outputDim: 2, seed: 9, inputName: INPUT_NAME });
  const other = await bundleFromOnnx({ dir: join(dir, 'other'), onnx: m.onnx, name: OTHER, version: '1.0.0', io: m.io, keys: s.fx.keys });
  await pushBundle(s.hub, other.path);
  await s.hub.api('POST', '/deployments', { model: OTHER, version: '1.0.0', target: { all: true }, reason: 'after the backup' });
  await waitFor(`${OTHER} serving`, async () => ((await served(OTHER)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
  return { backupDir, other };
}

/** Stops the hub (unless `stopped`: its handle still names its ports), restores `backupDir` into DIR/restored and starts it on the same ports. */
export async function restoreOnSamePorts(s: HubSetup, dir: string, backupDir: string, o: { stopped?: boolean } = {}): Promise<void> {
  const ports = { httpPort: Number(new URL(s.hub.http).port), mqttPort: Number(new URL(s.hub.mqtt).port) };
  if (!o.stopped) await s.hub.stop();
  const dataDir = join(dir, 'restored');
  const r = await runCli(HUB, ['restore', '--from', backupDir, '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  s.hub = await startHub({ dataDir, trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath, ...ports });
}
