// A real hub in this process with a few devices (not connected), its admin token, and Debian's Chromium,
// the renderer built: what the console's browser tests of error states and streams run against.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import mqtt, { type MqttClient } from 'mqtt';
import { PRESENCE_SCHEMA, STATE_SCHEMA, deviceTopic, type ReportedState } from '@edgefleet/shared';
import { buildMultiBundle, buildStrictShapeModel, bundleFromOnnx, makeKeys, makeTrust, type Keys } from '@edgefleet/examples';
import type { Hub } from '@edgefleet/hub';
import { taggedHub, type AdminApi } from '../sim/tagged-hub.js';
import { buildRenderer, launchChromium } from './helpers.js';

export interface SmallHub {
  hub: Hub;
  /** The example release keys the hub's trust document names (to push bundles). */
  keys: Keys;
  http: string;
  /** The hub's embedded broker (mqtt://127.0.0.1:PORT), where its devices connect with deviceSecret(id). */
  mqtt: string;
  token: string;
  api: AdminApi;
  browser: Browser;
  stop(): Promise<void>;
}

/** The secret startSmallHub gives device `id`. */
export const deviceSecret = (id: string): string => `s3cret-${id}-${'x'.repeat(24)}`;

/** `devices` created with the tag site=north before the hub starts; `config` adds to the hub's config. */
export async function startSmallHub(prefix: string, devices: string[], config?: Record<string, unknown>): Promise<SmallHub> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let hub: Hub | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const sims = devices.map((id) => ({ id, secret: deviceSecret(id) }));
    const [h, b] = await Promise.all([
      taggedHub({ dataDir: join(dir, 'hub'), trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, devices: sims, tags: () => ({ site: 'north' }), ...(config ? { config } : {}) }),
      launchChromium(),
      buildRenderer(),
    ]);
    [hub, browser] = [h.hub, b];
    return { hub: h.hub, keys, http: h.addrs.http, mqtt: h.addrs.mqtt, token: h.token, api: h.api, browser: b, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Pushes the example multi-model bundle (model `audio-energy`) at `version`, signed by the hub's release keys. */
export async function pushExampleBundle(h: SmallHub, version = '1.0.0'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-bundle-'));
  try {
    const b = await buildMultiBundle({ dir, keys: h.keys, version });
    await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pushes examples' buildStrictShapeModel as model `strict` at `version`: a version the hub's real onnxruntime-web refuses at push (native only). */
export async function pushStrictBundle(h: SmallHub, version = '1.0.0'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-console-strict-'));
  try {
    const strict = buildStrictShapeModel();
    const b = await bundleFromOnnx({ dir, onnx: strict.onnx, name: 'strict', version, io: strict.io, keys: h.keys });
    await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Device `id` of startSmallHub connected to the hub's broker with mqtt.js, online as an agent says it. */
export async function connectDevice(h: SmallHub, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(h.mqtt, { protocolVersion: 4, clientId: id, username: id, password: deviceSecret(id), clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
  await c.publishAsync(deviceTopic(id, 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: new Date().toISOString() }), { qos: 1, retain: true });
  return c;
}

/** Device `id` reports its state: running each model at its version (`{ name: version }`), with `more` (capabilities, starts, …). */
export async function reportState(c: MqttClient, id: string, models: Record<string, string>, more: Partial<ReportedState> = {}): Promise<void> {
  const state: ReportedState = {
    schema: STATE_SCHEMA, deviceId: id, at: new Date().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1, capabilities: [],
    models: Object.entries(models).map(([name, v]) => ({ name, active: v, previous: null, installed: [v], status: 'active', target: null })),
    ...more,
  };
  await c.publishAsync(deviceTopic(id, 'state'), JSON.stringify(state), { qos: 1, retain: true });
}
