// The box's X25519 key pair for sealed models (docs/security.md "Sealed models"): DATA/device-key.json,
// mode 0600, made once (at enrollment, or at the first start of a box enrolled before sealed models)
// and never sent anywhere; its public half goes to the hub in the enroll request and in the reported
// state. Content keys of encrypted bundles arrive sealed to it. zod-free: the daemon loads it at start.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppError, DEVICE_KEY_SCHEMA, boxKeyPairFromSecret, ensurePrivateDir, generateBoxKeyPair, refuseSecretOpenToOthers, secretFileProblem, writeFileAtomic, type BoxKeyPair,
} from '@edgefleet/shared/core';

export const DEVICE_KEY_FILE = 'device-key.json';

export function deviceKeyPath(dataDir: string): string {
  return join(dataDir, DEVICE_KEY_FILE);
}

/** Reads DATA/device-key.json; undefined when there is none. A broken or readable-by-others file is CONFIG_INVALID. */
export function readDeviceKey(dataDir: string): BoxKeyPair | undefined {
  const path = deviceKeyPath(dataDir);
  if (!existsSync(path)) return undefined;
  refuseSecretOpenToOthers(path, "the device's private key");
  let f: { schema?: unknown; keyId?: unknown; secret?: unknown };
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
    f = JSON.parse(text) as typeof f;
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `cannot read the device key ${path}: ${secretFileProblem(text, err)}; expected the key pair the agent made: `
      + `restore a backup of it, or move it aside (mv ${path} ${path}.damaged) and start again: the agent makes a new one, and an enrolled box `
      + 'reports it to its hub, which seals the content keys to it again (docs/security.md "Sealed models")');
  }
  if (f?.schema !== DEVICE_KEY_SCHEMA || typeof f.secret !== 'string') {
    throw new AppError('CONFIG_INVALID', `${path}: expected {"schema": "${DEVICE_KEY_SCHEMA}", "keyId", "public", "secret"}`);
  }
  const pair = boxKeyPairFromSecret(new Uint8Array(Buffer.from(f.secret, 'base64')));
  if (pair.keyId !== f.keyId) throw new AppError('CONFIG_INVALID', `${path}: keyId ${String(f.keyId)} does not match its secret key (expected ${pair.keyId})`);
  return pair;
}

/** The box's key pair, made (and written 0600) when there is none yet. */
export function loadOrCreateDeviceKey(dataDir: string): { pair: BoxKeyPair; created: boolean } {
  const have = readDeviceKey(dataDir);
  if (have) return { pair: have, created: false };
  ensurePrivateDir(dataDir);
  const pair = generateBoxKeyPair();
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  writeFileAtomic(deviceKeyPath(dataDir), `${JSON.stringify({ schema: DEVICE_KEY_SCHEMA, keyId: pair.keyId, public: b64(pair.publicKey), secret: b64(pair.secretKey) }, null, 2)}\n`, 0o600);
  return { pair, created: true };
}

/** What the hub stores: {keyId, public}. */
export function publicPart(pair: BoxKeyPair): { keyId: string; public: string } {
  return { keyId: pair.keyId, public: Buffer.from(pair.publicKey).toString('base64') };
}
