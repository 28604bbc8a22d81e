// Agent processes for a local fleet: enrollAgents makes one enrollment token per
// agent (carrying that agent's tags) and runs `edgefleet-agent enroll` into
// DATA_ROOT/<id>; startAgent runs `edgefleet-agent run` on a data dir (which
// connects to the hub because DATA/credentials.json exists) and waits for its
// "ready" log line, whose `api` field is the local OIP v2 URL.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEnrollToken, type HubHandle } from './hub.js';
import { defaultPrograms, runProgram, startProgram, type FleetProcessOptions, type RunningProcess } from './process.js';

export interface EnrolledAgent {
  deviceId: string;
  dataDir: string;
  tags: Record<string, string>;
}

export interface EnrollAgentsOptions {
  /** Each agent gets DATA_ROOT/<deviceId>. */
  dataRoot: string;
  /** Tags of agent i (0-based); default none. */
  tags?: (i: number) => Record<string, string>;
  /** Device id of agent i; default `edge-${i + 1}`. */
  id?: (i: number) => string;
  /** The agent program (default: built when running built, source otherwise). */
  entry?: string;
  env?: Record<string, string | undefined>;
  /** Runs `edgefleet-agent enroll ARGS` (default: the program `entry`, a process each); rejects on a failure. */
  run?: (args: readonly string[]) => Promise<unknown>;
}

/** Enrolls `n` agents with the hub (in parallel, each through the real `edgefleet-agent enroll`). */
export async function enrollAgents(hub: Pick<HubHandle, 'api' | 'http'>, n: number, o: EnrollAgentsOptions): Promise<EnrolledAgent[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`enrollAgents: expected a positive number of agents, got ${n}`);
  const entry = o.entry ?? defaultPrograms().agent;
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const deviceId = o.id?.(i) ?? `edge-${i + 1}`;
    const tags = o.tags?.(i) ?? {};
    const dataDir = join(o.dataRoot, deviceId);
    const token = await createEnrollToken(hub, { tags, maxUses: 1, ttlSec: 3600 });
    const args = ['enroll', '--hub', hub.http, '--token', token.token, '--data-dir', dataDir, '--id', deviceId];
    await (o.run ? o.run(args) : runProgram(entry, args, { ...(o.env ? { env: o.env } : {}) }));
    return { deviceId, dataDir, tags };
  }));
}

export interface StartAgentOptions extends FleetProcessOptions {
  dataDir: string;
  /** Local API port (default 0: any free port; the URL comes from the ready line). */
  apiPort?: number;
  /** Agent config merged into DATA/agent.json (e.g. {summaries: {windowSec: 10}}). */
  config?: Record<string, unknown>;
}

export interface AgentHandle {
  /** The local OIP v2 API, e.g. http://127.0.0.1:40123 */
  url: string;
  dataDir: string;
  process: RunningProcess;
  /** SIGTERM and wait for a clean exit (SIGKILL after 20 s); idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, no waiting (a power cut). */
  kill(): void;
}

export async function startAgent(o: StartAgentOptions): Promise<AgentHandle> {
  mkdirSync(o.dataDir, { recursive: true });
  const configPath = join(o.dataDir, 'agent.json');
  const config = { ...(o.config ?? {}), dataDir: o.dataDir };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const args = ['run', '--config', configPath, '--api-port', String(o.apiPort ?? 0), '--log-level', o.logLevel ?? 'info'];
  const p = startProgram(o.entry ?? defaultPrograms().agent, args, { ...(o.env ? { env: o.env } : {}), ...(o.logFile ? { logFile: o.logFile } : {}) });
  let url: string;
  try {
    const line = await p.waitForLine(/"msg":"ready"/, o.readyTimeoutMs ?? 60_000);
    const api = (JSON.parse(line) as { api?: unknown }).api;
    if (typeof api !== 'string') throw new Error(`agent in ${o.dataDir}: its ready line has no "api" URL: ${line}`);
    url = api;
  } catch (err) {
    await p.stop('SIGKILL');
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    dataDir: o.dataDir,
    process: p,
    stop() {
      stopping ??= p.stop('SIGTERM', 20_000).then(() => undefined);
      return stopping;
    },
    kill: () => p.kill(),
  };
}

/** Starts agents in parallel (each start is mostly waiting for its process to load ORT and connect),
 *  in the order given. If one fails to start, the others are stopped and the first error is thrown. */
export async function startAgents(list: readonly StartAgentOptions[]): Promise<AgentHandle[]> {
  const settled = await Promise.allSettled(list.map((o) => startAgent(o)));
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((a) => a.stop()));
    throw failed.reason;
  }
  return started;
}

/** Stops agents (in parallel) and then the hub: the order a fleet shuts down in. */
export async function stopFleet(agents: ReadonlyArray<Pick<AgentHandle, 'stop'>>, hub?: Pick<HubHandle, 'stop'>): Promise<void> {
  await Promise.allSettled(agents.map((a) => a.stop()));
  await hub?.stop();
}

/**
 * The line the fleet ends with (docs/fleet.md step 12): `stopped cleanly` when every process it started exited 0,
 * else their exit codes; none when it started nothing (a refused --data-dir), which has nothing to say stopped.
 * `hubCode` is undefined when the hub was not started.
 */
export function stoppedLine(agentCodes: ReadonlyArray<number | null>, hubCode: number | null | undefined): string | undefined {
  if (hubCode === undefined && agentCodes.length === 0) return undefined;
  const hub = hubCode === undefined ? [] : ['hub'];
  if (agentCodes.every((c) => c === 0) && (hubCode === undefined || hubCode === 0)) return `stopped cleanly (${[`${agentCodes.length} agent(s)`, ...hub].join(', ')})`;
  return `stopped; exit codes: agents ${agentCodes.join(',') || '-'}${hubCode === undefined ? '' : `, hub ${hubCode}`}`;
}
