// Test helpers for the agent's own tests: temp dirs, keys/trust, small signed
// bundles built from random MLPs, an in-process agent on port 0, JSON requests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Aedes } from 'aedes';
import { pino, type Logger } from 'pino';
import { CREDENTIALS_SCHEMA } from '@edgefleet/shared';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { bundleFromOnnx, GraphBuilder, makeKeys, makeTrust, randomMlp, type BundleFromOnnxOptions, type Keys, type Trust } from '@edgefleet/examples';
import { createAgent, type Agent, type AgentDeps } from './agent.js';
import { AgentConfig, type AgentConfigInput } from './config.js';

export interface Kit {
  dir: string;
  keys: Keys;
  trust: Trust;
  cleanup(): void;
}

export function makeKit(prefix = 'ef-agent-'): Kit {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  return { dir, keys, trust, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A signed bundle of a small random MLP "mlp" (input [-1, 4] FP32 -> output [-1, 3]); `seed` varies the weights. */
export function mlpBundle(kit: Kit, version: string, extra: Partial<BundleFromOnnxOptions> & { seed?: number } = {}) {
  const m = randomMlp({ inputDim: 4, hidden: [8], outputDim: 3, seed: extra.seed ?? 1 });
  return bundleFromOnnx({ dir: join(kit.dir, 'bundles'), onnx: m.onnx, name: 'mlp', version, io: m.io, keys: kit.keys, ...extra });
}

/**
 * Trust and then each of `bundles` installed in `dataDir` by the agent's own commands (`trust set`,
 * `install`) run in this process: setup for a test about something else, where a CLI process each cost
 * ~0.5 s of CPU. A test of the commands themselves runs them as processes (runCli).
 */
export async function provision(dataDir: string, trustPath: string, bundles: string[] = []): Promise<void> {
  // Loaded here: the command table costs each of the many files importing this module ~25 ms of CPU.
  const { agentCli } = await import('./cli/table.js');
  for (const args of [['trust', 'set', trustPath], ...bundles.map((b) => ['install', b])]) {
    const err = new StringWriter();
    const code = await dispatch(agentCli, [...args, '--data-dir', dataDir], { stdout: new StringWriter(), stderr: err, env: {}, cwd: process.cwd(), now: () => new Date() });
    if (code !== 0) throw new Error(`edgefleet-agent ${args.join(' ')} --data-dir ${dataDir}: exit ${code}: ${err.text}`);
  }
}

export function testConfig(dataDir: string, over: Partial<AgentConfigInput> = {}): AgentConfig {
  return AgentConfig.parse({ dataDir, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, ...over });
}

export async function startAgent(dataDir: string, over: Partial<AgentConfigInput> = {}, deps: AgentDeps = {}): Promise<Agent> {
  const agent = createAgent(testConfig(dataDir, over), { logger: pino({ level: 'silent' }), reconcileMs: 0, ...deps });
  await agent.start();
  return agent;
}

/**
 * An agent (not started) enrolled as `deviceId` in `kit`'s DATA dir with `url` for its hub's broker (a test's
 * aedes on `server`); the agent, then the server and broker, then the kit go after the test.
 */
export function agentOnBroker(t: TestContext, o: { kit: Kit; deviceId: string; url: string; broker: Aedes; server: Server; over?: Partial<AgentConfigInput>; logger?: Logger }): Agent {
  const data = join(o.kit.dir, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'credentials.json'), JSON.stringify({ schema: CREDENTIALS_SCHEMA, deviceId: o.deviceId, secret: 's'.repeat(24), brokers: [o.url] }));
  writeFileSync(join(data, 'trust.json'), JSON.stringify(o.kit.trust.doc));
  const agent = createAgent(testConfig(data, o.over), { logger: o.logger ?? pino({ level: 'silent' }), reconcileMs: 0 });
  t.after(async () => {
    await agent.stop();
    o.server.close();
    await new Promise<void>((r) => o.broker.close(() => r()));
    o.kit.cleanup();
  });
  return agent;
}

export async function req(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    // A request nobody answers fails the test that made it, naming it, not the whole file at its timeout.
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** `value` as JSON padded with spaces (JSON whitespace) to exactly `bytes` bytes: a body at a byte bound. */
export function paddedJson(value: unknown, bytes: number): string {
  const json = JSON.stringify(value);
  return json + ' '.repeat(bytes - Buffer.byteLength(json));
}

/** POSTs a JSON `body` in two chunks with no Content-Length (chunked): a body whose size is known only as it arrives. */
export function postChunked(base: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(base + path, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    r.write(body.slice(0, body.length >> 1));
    r.end(body.slice(body.length >> 1));
  });
}

export const row = (x: number[]) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: x }] });

/**
 * Takes a model's one run slot (concurrency.perModel 1): requests from now on wait in its queue until
 * `free()` (once; again is a no-op).
 */
export function holdRunSlot(agent: Agent, model: string): { free(): void } {
  const limiter = agent.runtime.limiterFor(model);
  if (!limiter) throw new Error(`no model "${model}" loaded`);
  if (limiter.acquire() !== undefined) throw new Error(`the run slot of "${model}" is not free`);
  let taken = true;
  return {
    free: () => {
      if (taken) limiter.release();
      taken = false;
    },
  };
}

/**
 * "pick" 1.0.0: value[i] = table[idx[i]] for a table of 4 floats (10, 11, 12, 13); INT64 [-1] in, FP32 [-1]
 * out. Its requests parse into 8 bytes an index, so tests size them exactly (the request budget).
 */
export function pickBundle(kit: Kit) {
  const g = new GraphBuilder('pick');
  g.op('Gather', [g.initializer('table', new Float32Array([10, 11, 12, 13])), g.input('idx', 'INT64', ['N'])], {}, 'value');
  g.output('value', 'FP32', ['N']);
  return bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: g.build(), name: 'pick', version: '1.0.0', keys: kit.keys,
    io: { inputs: [{ name: 'idx', datatype: 'INT64', shape: [-1] }], outputs: [{ name: 'value', datatype: 'FP32', shape: [-1] }] },
  });
}

/**
 * "reshape" 1.0.0: x FP32 [-1, 4] reshaped to y [2, 2], which warms up on one row and fails in onnxruntime
 * on two: a model whose run fails on input the manifest accepts (INFERENCE_FAILED).
 */
export function reshapeBundle(kit: Kit) {
  const g = new GraphBuilder('reshape');
  g.op('Reshape', [g.input('x', 'FP32', ['N', 4]), g.initializer('to', BigInt64Array.from([2n, 2n]), [2], 'INT64')], {}, 'y');
  g.output('y', 'FP32', [2, 2]);
  return bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: g.build(), name: 'reshape', version: '1.0.0', keys: kit.keys,
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2] }] },
  });
}

/**
 * "fill" 1.0.0: y = n ones, FP32 [-1], for n given as INT64 [1]: a few bytes of request for an answer of
 * any size (tests of what an answer a client does not read holds, api/write-deadline.test.ts).
 */
export function fillBundle(kit: Kit) {
  const g = new GraphBuilder('fill');
  g.op('Expand', [g.initializer('one', new Float32Array([1]), []), g.input('n', 'INT64', [1])], {}, 'y');
  g.output('y', 'FP32', ['N']);
  return bundleFromOnnx({
    dir: join(kit.dir, 'bundles'), onnx: g.build(), name: 'fill', version: '1.0.0', keys: kit.keys,
    io: { inputs: [{ name: 'n', datatype: 'INT64', shape: [1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] },
  });
}

/** A data dir (0700) and a config file holding `config` in a temp dir removed after the test. */
export function configFile(t: { after(fn: () => void): void }, config: object, prefix = 'ef-config-'): { data: string; file: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const file = join(root, 'agent.json');
  writeFileSync(file, JSON.stringify(config));
  return { data, file };
}
