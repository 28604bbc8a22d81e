// Test harness for the hub's API: a real Store in a temp dir, real keys and a
// signed trust document, one API token per role, a controllable clock, and a
// request helper over app.request() (no port). Used by the hub's tests only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, createTrustBody, generateKeyPair, signEnvelope, type ApiRole, type KeyPair, type TrustDocument } from '@edgefleet/shared';
import { createApp, type AppDeps } from '../api/app.js';
import type { ApiDeps, FleetControl } from '../api/http.js';
import type { BundleVerifier } from '../registry.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Metrics } from '../metrics.js';

export interface TestKeys {
  root: KeyPair;
  release: KeyPair;
  hub: KeyPair;
}

export function makeKeys(): TestKeys {
  return { root: generateKeyPair('root', 'root'), release: generateKeyPair('release', 'release'), hub: generateKeyPair('hub', 'hub') };
}

export function makeTrust(keys: TestKeys, now = new Date()): TrustDocument {
  const body = createTrustBody({
    version: 1, expires: new Date(now.getTime() + 365 * 86400_000), root: [keys.root], release: [keys.release], hub: [keys.hub],
  });
  return signEnvelope(body, [keys.root]) as TrustDocument;
}

export class ManualClock {
  constructor(public t = new Date('2026-03-01T12:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

export interface Harness {
  dir: string;
  store: Store;
  keys: TestKeys;
  trust: TrustDocument;
  clock: ManualClock;
  metrics: Metrics;
  tokens: Record<ApiRole, string>;
  disconnected: string[];
  app: ReturnType<typeof createApp>;
  req(method: string, path: string, opts?: { token?: string | null; role?: ApiRole; json?: unknown; body?: string | Uint8Array; headers?: Record<string, string> }): Promise<Response>;
  close(): void;
}

const noVerifier: BundleVerifier = () => Promise.reject(new AppError('INTERNAL', 'no bundle verifier in this test'));

export interface HarnessOptions {
  /** Where the data dir is made (default the system temp dir; a test of a full disk gives a small one). */
  root?: string;
  /** Store.open's `database` (a PostgreSQL URL from testing/backends.ts; default hub.db in the temp dir). */
  database?: string | undefined;
  verifyBundle?: BundleVerifier;
  maxBundleBytes?: number;
  keys?: TestKeys;
  /** The parts behind the deployments routes and the ingest refusals shown on GET /devices/{id}. */
  parts?: (store: Store) => Pick<ApiDeps, 'deployments' | 'ingest' | 'rollouts' | 'captures' | 'config'>;
  /** Per-device MQTT quotas shown on GET /devices/{id}. */
  quota?: ApiDeps['quota'];
  /** Replaces the recording fleet control (e.g. one whose disconnect fails). */
  fleet?: FleetControl;
  logger?: ApiDeps['logger'];
  /** Failed-authentication throttling (tests that make many 401s raise the burst). */
  authLimit?: AppDeps['authLimit'];
  /** The live stream (GET /api/v1/stream), built on the harness's store. */
  streams?: (store: Store) => ApiDeps['streams'];
}

export function makeHarness(opts: HarnessOptions = {}): Harness {
  const dir = mkdtempSync(join(opts.root ?? tmpdir(), 'ef-hub-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: opts.database });
  const keys = opts.keys ?? makeKeys();
  const clock = new ManualClock();
  const trust = makeTrust(keys, clock.now());
  const metrics = new Metrics();
  const tokens = {} as Record<ApiRole, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = store.tokens.create(`${role}-token`, role, 'test', clock.now()).token;
  const disconnected: string[] = [];
  const app = createApp({
    store, metrics, clock,
    trust: () => trust,
    brokers: () => ['mqtt://127.0.0.1:1883'],
    fleet: opts.fleet ?? { disconnect: (id) => { disconnected.push(id); return Promise.resolve(true); } },
    ...(opts.logger ? { logger: opts.logger } : {}),
    maxBundleBytes: opts.maxBundleBytes ?? 64 * 1024 * 1024,
    verifyBundle: opts.verifyBundle ?? noVerifier,
    ...(opts.parts ? opts.parts(store) : {}),
    ...(opts.quota ? { quota: opts.quota } : {}),
    ...(opts.authLimit ? { authLimit: opts.authLimit } : {}),
    ...(opts.streams ? { streams: opts.streams(store) } : {}),
  });
  return {
    dir, store, keys, trust, clock, metrics, tokens, disconnected, app,
    req(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token !== undefined ? o.token : tokens[o.role ?? 'admin'];
      if (token) headers['authorization'] = `Bearer ${token}`;
      let body = o.body;
      if (o.json !== undefined) {
        body = JSON.stringify(o.json);
        headers['content-type'] = 'application/json';
      }
      return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const FACTS = { os: 'linux', arch: 'arm64', cpus: 4, memoryMb: 2048, agentVersion: '0.1.0' };
