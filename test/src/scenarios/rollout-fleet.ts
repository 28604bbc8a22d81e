// The fleet the rollout scenarios share (rollout, shadow-rollout, replay-gate): a hub process with the
// example v1 and v2 and the extra example bundles named, N enrolled agent processes with 2 s summary
// windows, and an optional traffic loop; started before the suite's tests and stopped after them.
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleBundle, type ExampleBundleOptions } from '@edgefleet/examples';
import { pushBundle, startAgents, type AgentHandle, type EnrolledAgent, type HubHandle, type TrafficLoop } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { fixtureAndHub, type HubSetup } from './helpers.js';

export interface RolloutFleet {
  dir: string;
  s: HubSetup;
  /** The running hub (a test that restarts it sets the new handle here, so `after` stops that one). */
  hub: HubHandle;
  devs: EnrolledAgent[];
  agents: AgentHandle[];
  /** The traffic loop a test started, stopped after the suite if still running. */
  traffic?: TrafficLoop;
}

export interface RolloutFleetOptions {
  /** The temp dir's prefix. */
  name: string;
  hubConfig: Record<string, unknown>;
  agents: number;
  /** Tags of agent i (none by default). */
  tags?: (i: number) => Record<string, string>;
  /** More example bundles to push: version and build options. */
  bundles: Array<[string, Omit<ExampleBundleOptions, 'dir' | 'version' | 'keys'>]>;
}

/** Call in a describe: registers the before/after hooks; the fields are set once `before` ran. */
export function rolloutFleet(o: RolloutFleetOptions): RolloutFleet {
  const f = { agents: [] as AgentHandle[], devs: [] as EnrolledAgent[] } as RolloutFleet;
  before(async () => {
    f.dir = mkdtempSync(join(tmpdir(), o.name));
    f.s = await fixtureAndHub(f.dir, { config: o.hubConfig });
    f.hub = f.s.hub;
    for (const [version, b] of o.bundles) {
      await pushBundle(f.hub, (await buildExampleBundle({ dir: join(f.dir, 'fx', 'bundles'), version, keys: f.s.fx.keys, ...b })).path);
    }
    f.devs = await enrollAgents(f.hub, o.agents, { dataRoot: join(f.dir, 'agents'), ...(o.tags ? { tags: o.tags } : {}) });
    f.agents.push(...await startAgents(f.devs.map((d) => ({ dataDir: d.dataDir, config: { summaries: { windowSec: 2 } } }))));
  });
  after(async () => {
    await f.traffic?.stop();
    for (const a of f.agents) await a.stop();
    await f.hub?.stop();
    if (f.dir) rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}
