// Shared setup for the fault scenarios (issue 5): a fixture (keys, trust, example bundles), a real
// hub process on port 0 with the bundles pushed, a big signed bundle of the example's model name
// (a random MLP, about 1 MiB, so a download spans many blocks), and read-only looks into an agent's
// data dir (agent.db tables, partial and installed files) to check what a kill left behind.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bundleFromOnnx, makeFixture, randomMlp, INPUT_NAME, N_FEATURES, type BundleResult, type Fixture, type Keys } from '@edgefleet/examples';
import { hubWindows, pushBundle, startHub, waitFor, type Api, type HubHandle, type StartHubOptions } from '@edgefleet/examples/fleet';
import assert from 'node:assert/strict';
import { agentCli, operator } from '../testkit/cli.js';
import type { DeviceConfigView, Policy, SummaryWindow } from '@edgefleet/shared';

export const MODEL = 'vibration-anomaly';

/** A signed bundle named like the example model (same input), a random MLP of about `hidden`² × 4 bytes. */
export async function bigBundle(dir: string, keys: Keys, version: string, o: { hidden?: number; seed?: number; policy?: Partial<Policy> } = {}): Promise<BundleResult> {
  const h = o.hidden ?? 512;
  const m = randomMlp({ inputDim: N_FEATURES, hidden: [h, h], outputDim: 2, seed: o.seed ?? 3, inputName: INPUT_NAME });
  return bundleFromOnnx({ dir, onnx: m.onnx, name: MODEL, version, io: m.io, keys, ...(o.policy ? { policy: o.policy } : {}) });
}

export interface HubSetup {
  fx: Fixture;
  hub: HubHandle;
}

/** Fixture in DIR/fx and a hub in DIR/hub with the example v1 and v2 pushed. */
export async function fixtureAndHub(dir: string, o: Partial<StartHubOptions> = {}): Promise<HubSetup> {
  const fx = await makeFixture(join(dir, 'fx'));
  const hub = await startHub({ dataDir: join(dir, 'hub'), trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath, ...o });
  await pushBundle(hub, fx.v1);
  await pushBundle(hub, fx.v2);
  return { fx, hub };
}

/** `edgefleet config ARGS` (in this process: test/src/testkit/cli.ts) against the hub as its admin, and the hub's view of one device's configuration (both read once the setup is made). */
export function configTools(setup: () => HubSetup, deviceId: () => string): { cli(args: string[]): ReturnType<typeof operator>; view(): Promise<DeviceConfigView> } {
  return {
    cli: (args) => operator(['config', ...args], { env: { EDGEFLEET_HUB: setup().hub.http, EDGEFLEET_TOKEN: setup().hub.adminToken } }),
    view: () => setup().hub.api<DeviceConfigView>('GET', `/devices/${deviceId()}/config`),
  };
}

/** Runs `fn` on the agent's database opened read-only (the daemon may be running: WAL). */
export function withAgentDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'agent.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function downloadRow(dataDir: string, sha256: string): { size: number; committed: number } | undefined {
  return withAgentDb(dataDir, (db) => db.prepare('SELECT size, committed FROM downloads WHERE sha256 = ?').get(sha256) as { size: number; committed: number } | undefined);
}

export function sha256Hex(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file under `dir` (recursive) whose name ends with `suffix`. */
export function filesEndingWith(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesEndingWith(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

/** Path of an installed, content-addressed file in the agent's blob store. */
export function installedFile(dataDir: string, sha256: string): string {
  return join(dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256.slice(2));
}

/** The active version's files (from the manifest) all exist in the blob store with the right sha256. */
export function checkInstalledFiles(dataDir: string, manifest: BundleResult['manifest']): string[] {
  const bad: string[] = [];
  for (const f of manifest.files) {
    const p = installedFile(dataDir, f.sha256);
    if (!existsSync(p)) bad.push(`${f.path}: missing at ${p}`);
    else if (sha256Hex(p) !== f.sha256) bad.push(`${f.path}: sha256 ${sha256Hex(p)} at ${p}, expected ${f.sha256}`);
  }
  return bad;
}

/** GET a JSON URL; undefined on a network error. */
export async function getJson(url: string): Promise<{ status: number; json: any } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, json: await res.json().catch(() => null) };
  } catch {
    return undefined;
  }
}

/** POST one infer request of `rows` rows to the example model; resolves with the status and answer. */
export async function infer(base: string, rows: number[][], model = MODEL): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [rows.length, N_FEATURES], data: rows.flat() }] }),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

export type HubWindow = SummaryWindow & { deviceId: string; seq: number };

export async function localWindows(dataDir: string, model = MODEL): Promise<SummaryWindow[]> {
  const r = await agentCli(['summaries', '--json', '--model', model, '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { windows: Array<SummaryWindow & { resolution?: string }> }).windows.map(({ resolution: _r, ...w }) => w as SummaryWindow);
}

export async function outboxWindows(dataDir: string): Promise<number> {
  const r = await agentCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { outbox: { windows: number } }).outbox.windows;
}

/** One sample of an agent's /metrics (e.g. `edgefleet_agent_outbox_items{kind="window"}`); undefined when unreachable. */
export async function agentMetric(base: string, series: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  } catch {
    return undefined;
  }
}

/**
 * Waits until the device's own windows count every prediction it served (the last open window is written
 * when it closes), its outbox is empty and the hub holds as many windows; then checks that the hub holds
 * each of them exactly once (no seq twice, no window twice) and counts every served prediction once.
 */
export async function assertEveryWindowOnce(api: Api, d: { deviceId: string; dataDir: string }, predictions: number, timeoutMs = 90_000): Promise<void> {
  const { mine, theirs } = await waitFor(`${d.deviceId}: every prediction in a window, outbox drained, the hub holds every window`, async () => {
    const m = await localWindows(d.dataDir);
    if (m.reduce((n, w) => n + w.count, 0) < predictions) return undefined;
    if ((await outboxWindows(d.dataDir)) !== 0) return undefined;
    const t = await hubWindows(api, d.deviceId, `model=${MODEL}`);
    return t.length >= m.length ? { mine: m, theirs: t } : undefined;
  }, { timeoutMs, intervalMs: 1000 });
  assert.equal(theirs.length, mine.length, `${d.deviceId}: as many windows at the hub as recorded`);
  assert.equal(new Set(theirs.map((w) => w.seq)).size, theirs.length, `${d.deviceId}: no seq twice`);
  const key = (w: SummaryWindow) => `${w.version}@${w.start}:${w.count}`;
  assert.equal(new Set(theirs.map(key)).size, theirs.length, `${d.deviceId}: no window twice`);
  assert.deepEqual(theirs.map(key).sort(), mine.map(key).sort());
  assert.equal(theirs.reduce((n, w) => n + w.count, 0), predictions, `${d.deviceId}: every served prediction counted once`);
}
