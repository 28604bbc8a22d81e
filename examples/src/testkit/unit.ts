// How packaging/systemd/edgefleet-agent.service starts the agent: the script of its ExecStart
// (under /opt/edgefleet = this checkout), the arguments after it, and its Environment= lines
// (NODE_OPTIONS, malloc settings). Benches and tests start the agent this way, so what they measure
// is what a box runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './spawn.js';

export interface AgentUnit {
  /** The unit file read. */
  path: string;
  /** The built launcher ExecStart runs, e.g. <repo>/agent/bin/edgefleet-agent.js. */
  script: string;
  /** ExecStart's arguments after the script, e.g. ['run', '--data-dir', '/var/lib/edgefleet-agent']. */
  args: string[];
  /** The Environment= assignments. */
  env: Record<string, string>;
}

export function agentUnit(): AgentUnit {
  const root = repoRoot();
  const path = join(root, 'packaging/systemd/edgefleet-agent.service');
  const unit = readFileSync(path, 'utf8');
  const exec = /^ExecStart=\S+\s+\/opt\/edgefleet\/(\S+)\s+(run\b.*)$/m.exec(unit);
  if (!exec) throw new Error(`${path}: expected "ExecStart=/usr/bin/node /opt/edgefleet/<script> run ..."`);
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=(.*)$/gm)) {
    const assignment = m[1]!.trim().replace(/^"(.*)"$/, '$1');
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new Error(`${path}: expected Environment=NAME=value, got ${m[0]}`);
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { path, script: join(root, exec[1]!), args: exec[2]!.trim().split(/\s+/), env };
}

/**
 * The unit's `run` arguments with its data dir replaced by `dataDir` and the API on port 0 (any
 * free port; the URL comes from the ready line) unless the unit names a port.
 */
export function agentUnitArgs(unit: AgentUnit, dataDir: string): string[] {
  const args = [...unit.args];
  const i = args.indexOf('--data-dir');
  if (i < 0 || i + 1 >= args.length) throw new Error(`${unit.path}: expected ExecStart to pass --data-dir`);
  args[i + 1] = dataDir;
  if (!args.includes('--api-port')) args.push('--api-port', '0');
  return args;
}
