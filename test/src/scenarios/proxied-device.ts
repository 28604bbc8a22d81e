// Shared setup of the link fault scenarios (half-open, slow-link, flapping): a fixture and a hub
// (fixtureAndHub), one enrolled device, and a TCP proxy to the hub's embedded broker that the agent
// reaches it through (test/src/faults/flaky-proxy.ts); the agent runs v1 before the fault begins.
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, waitFor, type AgentHandle, type EnrolledAgent } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { startFlakyProxy, type FlakyProxy } from '../faults/flaky-proxy.js';
import { MODEL, fixtureAndHub, getJson, type HubSetup } from './helpers.js';

export interface ProxiedDevice {
  dir: string;
  s: HubSetup;
  dev: EnrolledAgent;
  proxy: FlakyProxy;
  agent: AgentHandle | undefined;
  /** Whether the hub shows the device online. */
  online(): Promise<boolean>;
  /** Starts the agent through the proxy with `sync` (and `config`) merged in, deploys v1 and waits until it serves. */
  start(sync: Record<string, unknown>, config?: Record<string, unknown>): Promise<AgentHandle>;
}

/** Registers the suite's before and after: what `prepare` adds (a bundle, say) runs once the hub is up. */
export function proxiedDevice(name: string, prepare?: (c: ProxiedDevice) => Promise<void>): ProxiedDevice {
  const c = {
    agent: undefined,
    online: async () => (await c.s.hub.api<{ online: boolean }>('GET', `/devices/${c.dev.deviceId}`)).online,
    start: async (sync, config = {}) => {
      c.agent = await startAgent({ dataDir: c.dev.dataDir, config: { summaries: { windowSec: 1 }, ...config, sync: { brokerUrl: `mqtt://127.0.0.1:${c.proxy.port}`, ...sync } } });
      await c.s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: `${name}: baseline` });
      await waitFor('v1 ready', async () => (await getJson(`${c.agent!.url}/v2/models/${MODEL}/ready`))?.json?.ready === true, { timeoutMs: 60_000 });
      return c.agent;
    },
  } as ProxiedDevice;
  before(async () => {
    c.dir = mkdtempSync(join(tmpdir(), `ef-${name}-`));
    c.s = await fixtureAndHub(c.dir);
    [c.dev] = await enrollAgents(c.s.hub, 1, { dataRoot: join(c.dir, 'agents'), id: () => `${name}-1` }) as [EnrolledAgent];
    c.proxy = await startFlakyProxy({ targetPort: Number(new URL(c.s.hub.mqtt).port) });
    await prepare?.(c);
  });
  after(async () => {
    await c.agent?.stop();
    await c.proxy?.close();
    await c.s?.hub.stop();
    if (c.dir) rmSync(c.dir, { recursive: true, force: true });
  });
  return c;
}
