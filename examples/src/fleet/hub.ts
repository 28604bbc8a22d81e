// A hub process for a local fleet: startHub spawns `edgefleet-hub run` on a data dir,
// waits for its "hub ready" line, reads the admin token it wrote, and gives a small
// REST client (`api`) that throws with the hub's error code and message.
// Also: pushBundle, enrollment tokens, and picking a preferred port or a free one.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pagePath, readPages, type DeviceInfo, type DeviceList, type EnrollmentTokenCreated, type EventPage, type ModelVersionInfo, type WindowPage } from '@edgefleet/shared';
import { defaultPrograms, startProgram, type FleetProcessOptions, type RunningProcess } from './process.js';

/** readyTimeoutMs: how long to wait for "hub ready" (default 60 s). */
export interface StartHubOptions extends FleetProcessOptions {
  dataDir: string;
  trustPath: string;
  hubKeyPath: string;
  /** Default 0 (any free port). */
  httpPort?: number;
  /** Default 0 (any free port). */
  mqttPort?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Broker URLs given to devices at enrollment (--broker), when they differ from where the hub listens. */
  publicBrokers?: string[];
  /** Extra hub config (written next to the data dir as DATA.config.json, given with --config), e.g. {sync: {...}}. */
  config?: Record<string, unknown>;
}

export type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

export interface HubHandle {
  /** http://host:port */
  http: string;
  /** mqtt://host:port */
  mqtt: string;
  adminToken: string;
  dataDir: string;
  /** REST under /api/v1 with the admin token; `body` is JSON, or raw bytes for a Uint8Array. */
  api: Api;
  process: RunningProcess;
  /** SIGTERM and wait (SIGKILL after 20 s); idempotent. */
  stop(): Promise<void>;
}

/** Thrown by HubHandle.api for a non-2xx answer. */
export class HubApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HubApiError';
  }
}

/** A REST client for a hub at `base` with a bearer token. */
export function hubApi(base: string, token: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const raw = body instanceof Uint8Array;
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
    });
    const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      const code = data?.error?.code ?? 'HTTP_' + res.status;
      throw new HubApiError(res.status, code, `${method} ${path}: [${code}] ${data?.error?.message ?? `HTTP ${res.status}`}`);
    }
    return data as T;
  };
}

/** Every device the hub has, all pages of GET /devices (a page holds at most DEVICE_PAGE.maxLimit, docs/decisions/0080-device-list-pages.md). */
export async function hubDevices(api: Api): Promise<DeviceInfo[]> {
  return (await readPages(async (after) => { const p = await api<DeviceList>('GET', pagePath('/devices', after)); return { rows: p.devices, next: p.next }; })).rows;
}

/** Every window the hub stored from a device (`query` e.g. `model=m`), all pages of GET /devices/{id}/windows. */
export async function hubWindows(api: Api, deviceId: string, query = ''): Promise<WindowPage['windows']> {
  const path = `/devices/${encodeURIComponent(deviceId)}/windows${query ? `?${query}` : ''}`;
  return (await readPages(async (after) => { const p = await api<WindowPage>('GET', pagePath(path, after)); return { rows: p.windows, next: p.next }; })).rows;
}

/** Every event the hub stored from a device, all pages of GET /devices/{id}/events. */
export async function hubEvents(api: Api, deviceId: string, query = ''): Promise<EventPage['events']> {
  const path = `/devices/${encodeURIComponent(deviceId)}/events${query ? `?${query}` : ''}`;
  return (await readPages(async (after) => { const p = await api<EventPage>('GET', pagePath(path, after)); return { rows: p.events, next: p.next }; })).rows;
}

export async function startHub(o: StartHubOptions): Promise<HubHandle> {
  mkdirSync(o.dataDir, { recursive: true });
  const args = [
    'run', '--data-dir', o.dataDir, '--trust', o.trustPath, '--hub-key', o.hubKeyPath,
    '--http-port', String(o.httpPort ?? 0), '--mqtt-port', String(o.mqttPort ?? 0),
    '--host', o.host ?? '127.0.0.1', '--log-level', o.logLevel ?? 'info',
  ];
  for (const b of o.publicBrokers ?? []) args.push('--broker', b);
  if (o.config) {
    const file = `${o.dataDir.replace(/\/$/, '')}.config.json`;
    writeFileSync(file, `${JSON.stringify(o.config, null, 2)}\n`);
    args.push('--config', file);
  }
  const p = startProgram(o.entry ?? defaultPrograms().hub, args, { ...(o.env ? { env: o.env } : {}), ...(o.logFile ? { logFile: o.logFile } : {}) });
  let ready: { http: string; mqtt: string };
  try {
    ready = JSON.parse(await p.waitForLine(/"msg":"hub ready"/, o.readyTimeoutMs ?? 60_000)) as { http: string; mqtt: string };
  } catch (err) {
    await p.stop('SIGKILL');
    throw err;
  }
  const adminToken = readFileSync(join(o.dataDir, 'admin.token'), 'utf8').trim();
  let stopping: Promise<void> | undefined;
  return {
    http: ready.http,
    mqtt: ready.mqtt,
    adminToken,
    dataDir: o.dataDir,
    api: hubApi(ready.http, adminToken),
    process: p,
    stop() {
      stopping ??= p.stop('SIGTERM', 20_000).then(() => undefined);
      return stopping;
    },
  };
}

/** Pushes a signed bundle file to the hub's registry. */
export function pushBundle(hub: Pick<HubHandle, 'api'>, path: string): Promise<ModelVersionInfo> {
  return hub.api<ModelVersionInfo>('POST', '/models', new Uint8Array(readFileSync(path)));
}

/** An enrollment token giving `tags` to the devices that use it. */
export function createEnrollToken(hub: Pick<HubHandle, 'api'>, opts: { tags?: Record<string, string>; maxUses?: number; ttlSec?: number } = {}): Promise<EnrollmentTokenCreated> {
  return hub.api<EnrollmentTokenCreated>('POST', '/enrollment-tokens', { tags: opts.tags ?? {}, maxUses: opts.maxUses ?? 1, ...(opts.ttlSec ? { ttlSec: opts.ttlSec } : {}) });
}

/** `preferred` when it can be bound on `host` right now, else 0 (the program then picks a free port). */
export function portOrFree(preferred: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(0));
    s.listen({ port: preferred, host, exclusive: true }, () => s.close(() => resolve(preferred)));
  });
}
