// Scenario (decision 0066: a model a document merely omits keeps serving): a hub restored from a backup
// taken before a model was deployed builds documents without that model. With real processes: a box runs
// the example model and a second model deployed after the backup; the hub is stopped, the backup
// restored and started on the same ports. The box applies the restored hub's document (issued above the
// seq it had applied, docs/operations.md "Backup and restore") and keeps serving the second model, which
// no removal named; only an explicit undeploy would stop it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '@edgefleet/examples';
import { startAgent, waitFor } from '@edgefleet/examples/fleet';
import { MODEL } from './helpers.js';
import { OTHER, backupThenOtherModel, restoreBox, restoreOnSamePorts } from './restore-helpers.js';

const AGENT_CLI = 'agent/src/cli/main.ts';

describe('a hub restored from an older backup', () => {
  const box = restoreBox('ef-restore-keeps-', 'rk-1');
  const applied = async () => (JSON.parse((await runCli(AGENT_CLI, ['status', '--json', '--data-dir', box.dev.dataDir])).stdout) as { lastAppliedSeq: number }).lastAppliedSeq;

  it('builds documents without a model deployed after the backup; the box keeps serving it', async () => {
    const { s, served } = box;
    box.agent = await startAgent({ dataDir: box.dev.dataDir, config: { sync: { reconnectMs: 300 } } });
    // After the backup: a second model, deployed and served.
    const { backupDir } = await backupThenOtherModel(s, box.dir, served);
    const before = await applied();

    // The operator restores the older backup and starts the hub on the same ports.
    await restoreOnSamePorts(s, box.dir, backupDir);
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
