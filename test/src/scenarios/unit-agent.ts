// An agent started as packaging/systemd/edgefleet-agent.service starts it (its `run` arguments and
// Environment= lines, from source as tests run) on a data dir provisioned with trust and the example
// model by the agent's own commands, run in this process (a CLI process each would cost seconds).
// Used by the tests that hold what the unit promises: what the daemon loads, memory after a burst.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentCli } from '@edgefleet/agent';
import { StringWriter, dispatch } from '@edgefleet/shared/cli';
import { agentUnit, agentUnitArgs, buildExampleBundle, makeKeys, makeTrust, startProcess, type BundleResult, type RunningProcess } from '@edgefleet/examples';

export interface UnitAgent {
  api: string;
  /** host:port of the gRPC API, when the config turns it on. */
  grpc: string | undefined;
  process: RunningProcess;
  bundle: BundleResult;
  /** VmRSS of the agent process, bytes. */
  rss(): number;
}

/** Trust and the example model 1.0.0 in DIR/data; returns the bundle. */
export async function provisionAgent(dir: string): Promise<{ data: string; bundle: BundleResult }> {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const bundle = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
  const data = join(dir, 'data');
  for (const args of [['trust', 'set', trust.path], ['install', bundle.path]]) {
    const err = new StringWriter();
    const code = await dispatch(agentCli, [...args, '--data-dir', data], { stdout: new StringWriter(), stderr: err, env: {}, cwd: dir, now: () => new Date() });
    assert.equal(code, 0, `edgefleet-agent ${args[0]}: ${err.text}`);
  }
  return { data, bundle };
}

/** Starts the agent on `data` as the unit does; `env` and `nodeArgs` are added. Stop it in a finally. */
export async function startUnitAgent(data: string, bundle: BundleResult, o: { env?: Record<string, string>; nodeArgs?: string[]; args?: string[] } = {}): Promise<UnitAgent> {
  const unit = agentUnit();
  const p = startProcess('agent/src/cli/main.ts', [...agentUnitArgs(unit, data), '--log-level', 'info', ...(o.args ?? [])], {
    env: { ...unit.env, ...o.env },
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
  });
  try {
    const ready = JSON.parse(await p.waitForLine(/"msg":"ready"/, 30_000)) as { api: string; grpc?: string };
    return { api: ready.api, grpc: ready.grpc, process: p, bundle, rss: () => rssOf(p.child.pid) };
  } catch (err) {
    p.kill();
    throw err;
  }
}

export function rssOf(pid: number | undefined): number {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // gone: reported below
  }
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for process ${pid}`);
  return kb * 1024;
}


/** A valid-looking infer request for the bundle's model with `rows` rows of features. */
export function inferBody(bundle: BundleResult, rows: number, value = (i: number) => ((i * 7919) % 1000) / 997): string {
  const input = bundle.manifest.io.inputs[0]!;
  const features = input.shape[input.shape.length - 1]!;
  const data = Array.from({ length: rows * features }, (_, i) => value(i));
  return JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape: [rows, features], data }] });
}
