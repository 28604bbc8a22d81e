// Scenario (decision 0066: a model a document merely omits keeps serving): a hub restored from a backup
// taken before a model was deployed builds documents without that model. With real processes: a box runs
// the example model and a second model deployed after the backup; the hub is stopped, the backup
// restored and started on the same ports. The box applies the restored hub's document (issued above the
// seq it had applied, docs/operations.md "Backup and restore") and keeps serving the second model, which
// no removal named; only an explicit undeploy would stop it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, datasetRows, generateVibration, randomMlp, runCli, INPUT_NAME, N_FEATURES } from '@edgefleet/examples';
import { enrollAgents, pushBundle, startAgent, startHub, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { MODEL, fixtureAndHub, infer, type HubSetup } from './helpers.js';

const HUB = 'hub/src/server/main.ts';
const AGENT_CLI = 'agent/src/cli/main.ts';
const OTHER = 'other-model';

describe('a hub restored from an older backup', () => {
  let dir: string;
  let s: HubSetup;
  let dev: EnrolledAgent;
  let agent: AgentHandle | undefined;
  const rows = datasetRows(generateVibration({ rows: 1, seed: 6 }));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-restore-keeps-'));
    s = await fixtureAndHub(dir);
    [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'rk-1' }) as [EnrolledAgent];
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const served = async (model: string) => {
    const r = await infer(agent!.url, rows, model);
    return r.status === 200 ? r.json?.model_version as string : `${r.status} ${r.json?.code as string}`;
  };
  const applied = async () => (JSON.parse((await runCli(AGENT_CLI, ['status', '--json', '--data-dir', dev.dataDir])).stdout) as { lastAppliedSeq: number }).lastAppliedSeq;

  it('builds documents without a model deployed after the backup; the box keeps serving it', async () => {
    agent = await startAgent({ dataDir: dev.dataDir, config: { sync: { reconnectMs: 300 } } });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'before the backup' });
    await waitFor('1.0.0 serving', async () => ((await served(MODEL)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    const backupDir = join(dir, 'backup');
    const b = await runCli(HUB, ['backup', '--data-dir', s.hub.dataDir, '--out', backupDir]);
    assert.equal(b.code, 0, b.stderr);

    // After the backup: a second model, deployed and served.
    const m = randomMlp({ inputDim: N_FEATURES, hidden: [16], outputDim: 2, seed: 9, inputName: INPUT_NAME });
    const other = await bundleFromOnnx({ dir: join(dir, 'other'), onnx: m.onnx, name: OTHER, version: '1.0.0', io: m.io, keys: s.fx.keys });
    await pushBundle(s.hub, other.path);
    await s.hub.api('POST', '/deployments', { model: OTHER, version: '1.0.0', target: { all: true }, reason: 'after the backup' });
    await waitFor(`${OTHER} serving`, async () => ((await served(OTHER)) === '1.0.0' ? true : undefined), { timeoutMs: 90_000 });
    const before = await applied();

    // The operator restores the older backup and starts the hub on the same ports.
    const ports = { httpPort: Number(new URL(s.hub.http).port), mqttPort: Number(new URL(s.hub.mqtt).port) };
    await s.hub.stop();
    const dataDir = join(dir, 'restored');
    const r = await runCli(HUB, ['restore', '--from', backupDir, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    s.hub = await startHub({ dataDir, trustPath: s.fx.trustPath, hubKeyPath: s.fx.keys.files.hub.keyPath, ...ports });
    const models = await s.hub.api<{ versions: Array<{ name: string }> }>('GET', '/models');
    assert.ok(!models.versions.some((v) => v.name === OTHER), 'the restored hub does not know the second model');

    // The box applies the restored hub's document (above the seq it had) and serves both models still.
    const after = await waitFor('the restored hub\'s document applied', async () => {
      const seq = await applied();
      return seq > before ? seq : undefined;
    }, { timeoutMs: 90_000 });
    assert.ok(after > before);
    assert.equal(await served(OTHER), '1.0.0', 'a model the document merely omits keeps serving');
    assert.equal(await served(MODEL), '1.0.0');
  });
});
