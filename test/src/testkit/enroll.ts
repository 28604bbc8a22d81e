// Enrolled boxes for tests that need them and are not about enrolling: enrollAgents (examples/src/fleet/agents.ts),
// the same enrollment tokens and the same `edgefleet-agent enroll` (its main(), with its wire schemas loaded
// first), run in this process instead of a process per box: a process start costs ~0.4 s of CPU.
// `npm start` and the tests of enrolling itself (postgres-hub, package-agent, agent/src/cli/enroll*.test.ts)
// run the real program.
import { agentCli } from './cli.js';
import { enrollAgents as enrollAgentProcesses, type EnrolledAgent, type EnrollAgentsOptions } from '@edgefleet/examples/fleet';

/** `edgefleet-agent ARGS` in this process; rejects with its stderr on a non-zero exit, as runProgram does. */
export async function runAgentCli(args: readonly string[]): Promise<string> {
  const r = await agentCli(args);
  if (r.code !== 0) throw new Error(`edgefleet-agent ${args.join(' ')} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r.stdout;
}

/** enrollAgents with each `edgefleet-agent enroll` run in this process (options as there; no entry or env: no process). */
export function enrollAgents(hub: Parameters<typeof enrollAgentProcesses>[0], n: number, o: Omit<EnrollAgentsOptions, 'entry' | 'env' | 'run'>): Promise<EnrolledAgent[]> {
  return enrollAgentProcesses(hub, n, { ...o, run: runAgentCli });
}
