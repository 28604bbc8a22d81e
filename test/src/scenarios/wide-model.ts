// A model with thousands of numeric features, whose summary windows are larger than one MQTT publish may
// be, on a hub with one enrolled device; and an agent in-process serving it (wide-window.test.ts, payload-limit.test.ts).
import { join } from 'node:path';
import { pino } from 'pino';
import { createAgent, AgentConfig, type Agent } from '@edgefleet/agent';
import { bundleFromOnnx, randomMlp } from '@edgefleet/examples';
import { pushBundle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { fixtureAndHub, type HubSetup } from './helpers.js';

/** A hub in DIR with a model NAME@1.0.0 of `features` numeric features (~110 bytes of window JSON each) and device `deviceId` enrolled. */
export async function hubWithWideModel(dir: string, name: string, features: number, deviceId: string): Promise<{ s: HubSetup; dev: EnrolledAgent }> {
  const s = await fixtureAndHub(dir);
  const m = randomMlp({ inputDim: features, hidden: [4], outputDim: 2, seed: 9, inputName: 'x' });
  const fs = Array.from({ length: features }, (_, i) => ({ name: `band${i}`, index: i, kind: 'numeric' as const }));
  await pushBundle(s.hub, (await bundleFromOnnx({ dir: join(dir, 'fx'), onnx: m.onnx, name, version: '1.0.0', io: m.io, features: fs, keys: s.fx.keys })).path);
  const [dev] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => deviceId }) as [EnrolledAgent];
  return { s, dev };
}

/** The enrolled device's agent, started in-process: 1 s windows, quick reconnects and resends; `sync` adds to its sync settings. */
export async function startWideAgent(dev: EnrolledAgent, sync: Record<string, unknown> = {}): Promise<Agent> {
  const config = AgentConfig.parse({
    dataDir: dev.dataDir, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' },
    summaries: { windowSec: 1 }, sync: { reconnectMs: 200, outbox: { resendAfterMs: 2000 }, ...sync },
  });
  const agent = createAgent(config, { logger: pino({ level: 'silent' }), reconcileMs: 0 });
  await agent.start();
  return agent;
}

/** One prediction of the wide model on `agent`; its HTTP status. */
export async function inferWide(agent: Agent, name: string, features: number): Promise<number> {
  const row = Array.from({ length: features }, (_, i) => (i % 17) / 3);
  const r = await fetch(`${agent.url}/v2/models/${name}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, features], data: row }] }),
  });
  await r.arrayBuffer();
  return r.status;
}
