// Test support for the sealing tests (service, delivery, keystore, shared-key-file): a temp dir with the
// keys and trust document that sign the bundles, models packed from one ONNX graph (sealed under a
// content key, or plain) and pushed through a Registry that verifies them as the hub's push route does,
// and a device's public key as enroll requests and state reports carry it.
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, type BuiltModel, type Keys } from '@edgefleet/examples';
import type { BoxKeyPair, TrustBody } from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import type { Store } from '../store/index.js';

export interface SealingFixture {
  /** The test's temp dir: keys/, bundles/ and the hubs' data dirs go in it; the test removes it. */
  dir: string;
  keys: Keys;
  trust: TrustBody;
}

/** A new temp dir (`prefix` + random) with release, hub and root keys and a trust document over them. */
export function sealingFixture(prefix: string): SealingFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keys = makeKeys(join(dir, 'keys'));
  return { dir, keys, trust: makeTrust(dir, keys).body };
}

export interface ModelToPush {
  /** Default "secret". */
  name?: string;
  version: string;
  /** The content key it is sealed under; none: a plain bundle. */
  key?: Uint8Array;
}

/** Packs `model` as each of `models`, signed with the fixture's release key, and pushes them into `store`'s registry. */
export async function pushModels(store: Store, f: SealingFixture, model: BuiltModel, at: Date, models: readonly ModelToPush[]): Promise<void> {
  const registry = new Registry(store, bundleVerifier(() => f.trust), 'off');
  for (const m of models) {
    const b = await bundleFromOnnx({
      dir: join(f.dir, 'bundles'), onnx: model.onnx, name: m.name ?? 'secret', version: m.version, io: model.io, keys: f.keys, ...(m.key ? { encrypt: { key: m.key } } : {}),
    });
    await registry.push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at });
  }
}

export const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');

/** A device's public key as its enroll request and state reports carry it. */
export const devicePub = (k: BoxKeyPair): { keyId: string; public: string } => ({ keyId: k.keyId, public: b64(k.publicKey) });
