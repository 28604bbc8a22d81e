// The setup the shadow and replay benches share: one in-process agent serving the example model 1.0.0
// (real install, real summaries recorder) with 2.0.0 (its reference shifted) installed beside it, not
// active; 64 holdout rows as request bodies. `close()` stops the agent and removes the temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildExampleBundle, datasetRows, makeKeys, makeTrust } from '@edgefleet/examples';
import { createAgent, type Agent } from '../src/agent.js';
import { AgentConfig } from '../src/config.js';

export interface TwoVersions {
  agent: Agent;
  /** The model's name. */
  name: string;
  /** Request bodies (one row each) for `/v2/models/{name}/infer`. */
  bodies: string[];
  close(): Promise<void>;
}

export async function twoVersionAgent(prefix: string): Promise<TwoVersions> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let agent: Agent | undefined;
  const close = async () => {
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const v1 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
    const v2 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '2.0.0', shift: true, keys });
    const a = (agent = createAgent(AgentConfig.parse({ dataDir: join(dir, 'data'), api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 }));
    await a.start();
    a.trust.put(trust.doc, 1);
    await a.manager.install(v1.path);
    await a.manager.install(v2.path, { activate: false });
    const bodies = datasetRows(v1.model.holdout).slice(0, 64).map((r) => JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, r.length], data: r }] }));
    return { agent: a, name: v1.manifest.name, bodies, close };
  } catch (err) {
    await close();
    throw err;
  }
}
