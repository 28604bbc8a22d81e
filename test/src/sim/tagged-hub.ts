// A hub in this process on a fresh data dir whose devices (with their tags) are created before it
// starts, and its REST API with the admin token it made on first start: what the drift scenarios and
// the console's drift fixture run the fleet simulator against.
import { HUB_MIGRATIONS, Hub, HubConfig, Store, noopLogger, systemClock } from '@edgefleet/hub';
import type { SimDevice } from './simulator.js';

export type AdminApi = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** The hub's REST API with a token: JSON bodies, bytes as octet-stream; a non-2xx answer throws with its text. */
export function adminApi(http: string, token: string): AdminApi {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const raw = body instanceof Uint8Array;
    const res = await fetch(`${http}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }) },
      ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  };
}

export async function taggedHub(o: { dataDir: string; trustPath: string; hubKeyPath: string; devices: SimDevice[]; tags: (id: string) => Record<string, string>; config?: Record<string, unknown> }): Promise<{ hub: Hub; addrs: { http: string; mqtt: string }; token: string; api: AdminApi }> {
  const store = Store.open(o.dataDir, HUB_MIGRATIONS);
  store.db.transaction(() => o.devices.forEach((d) => store.devices.create(d.id, d.secret, o.tags(d.id), null, new Date())))();
  store.close();
  const hub = new Hub(HubConfig.parse({ ...o.config, dataDir: o.dataDir, httpPort: 0, mqttPort: 0, trust: o.trustPath, hubKey: o.hubKeyPath, logLevel: 'silent' }), noopLogger, systemClock);
  const addrs = await hub.start();
  const token = hub.newAdminToken;
  if (!token) throw new Error('the hub did not create an admin token on its first start');
  return { hub, addrs, token, api: adminApi(addrs.http, token) };
}
