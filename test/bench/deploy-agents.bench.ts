// Deployment to real agent processes (issue 5 benchmark: "real agents where the machine allows"):
// a built hub and N built agents (default 8; DEPLOY_AGENTS=N), each enrolled with the real CLI.
// Measured: POST /api/v1/deployments → every agent reported active (it downloaded the bundle in MQTT
// blocks, verified it, installed, loaded, warmed and swapped it in). Baseline in the same run: the
// same N agents receiving a second, already-installed version switch (no download) — so the ratio
// shows what delivery and installation cost on top of the document round trip.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from '@edgefleet/shared';
import { makeFixture } from '@edgefleet/examples';
import { BUILT_PROGRAMS, enrollAgents, pushBundle, startAgent, startHub, stopFleet, type AgentHandle } from '@edgefleet/examples/fleet';

const N = Number(process.env.DEPLOY_AGENTS ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'ef-bench-agents-'));
const agents: AgentHandle[] = [];
const fx = await makeFixture(join(dir, 'fx'));
const hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath, entry: BUILT_PROGRAMS.hub });
try {
  await pushBundle(hub, fx.v1);
  await pushBundle(hub, fx.v2);
  const enrolled = await enrollAgents(hub, N, { dataRoot: join(dir, 'agents'), entry: BUILT_PROGRAMS.agent });
  const t0 = performance.now();
  for (const e of enrolled) agents.push(await startAgent({ dataDir: e.dataDir, entry: BUILT_PROGRAMS.agent, config: { summaries: { windowSec: 60 } } }));
  console.log(`deploy to real agents: ${N} built agent processes started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const deploy = async (version: string): Promise<{ ms: number; postMs: number }> => {
    const start = performance.now();
    const dep = await hub.api<Deployment>('POST', '/deployments', { model: 'vibration-anomaly', version, target: { all: true }, reason: `bench ${version}` });
    const postMs = performance.now() - start;
    for (;;) {
      const d = await hub.api<Deployment>('GET', `/deployments/${dep.id}`);
      if ((d.counts['active'] ?? 0) === N) return { ms: performance.now() - start, postMs };
      if ((d.counts['failed'] ?? 0) + (d.counts['rolled_back'] ?? 0) > 0) throw new Error(`deployment ${dep.id} failed: ${JSON.stringify(d.devices.filter((x) => x.status !== 'active'))}`);
      if (performance.now() - start > 120_000) throw new Error(`deployment ${dep.id} not active on all ${N} agents after 120 s: ${JSON.stringify(d.counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const first = await deploy('1.0.0'); // download + verify + install + load + warm + swap
  const second = await deploy('2.0.0'); // another download of the same size
  const back = await deploy('1.0.0'); // installed already: only the document and the switch
  const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`  1.0.0 to ${N} agents (download, verify, install, load, swap): ${sec(first.ms)} (POST ${first.postMs.toFixed(0)} ms)`);
  console.log(`  2.0.0 to ${N} agents (download, verify, install, load, swap): ${sec(second.ms)}`);
  console.log(`  back to 1.0.0 (installed: document + switch only, the baseline): ${sec(back.ms)}`);
  console.log(`deploy to ${N} real agents: ${sec(second.ms)} vs ${sec(back.ms)} without download/install = ${(second.ms / back.ms).toFixed(2)}x`);
} finally {
  await stopFleet(agents, hub);
  rmSync(dir, { recursive: true, force: true });
}
