// Files of sealed models (docs/cli.md "Sealed models"): the content key written by
// `edgefleet model pack --encrypt` (mode 0600), a content key sealed to one device
// (`edgefleet model seal`, `edgefleet-agent install --key`), and a device's public key
// (`edgefleet-agent key show`).
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError, fileReadError } from '../errors.js';
import { Base64, KeyId, parseWire, schemaTag } from '../wire/common.js';
import { SealedKeySchema } from '../wire/sealed.js';
import { CONTENT_KEY_BYTES, DEVICE_KEY_SCHEMA, SEALED_KEY_SCHEMA, contentKeyId, decodeBoxPublicKey, boxKeyId, type SealedKey } from './sealed.js';
import { PUBLIC_KEY_SCHEMA, SECRET_KEY_SCHEMA, writeFileAtomic } from './keys.js';
import { TRUST_SCHEMA } from '../wire/trust.js';
import { secretJsonProblem } from '../text.js';

export const CONTENT_KEY_FILE_SCHEMA = 'edgefleet.content-key/v1' as const;
export const ContentKeyFile = z.object({ schema: schemaTag(CONTENT_KEY_FILE_SCHEMA), keyId: KeyId, key: Base64, model: z.string().optional(), version: z.string().optional() });
export type ContentKeyFile = z.infer<typeof ContentKeyFile>;

export const DEVICE_PUBKEY_SCHEMA = 'edgefleet.device-pubkey/v1' as const;
export const DevicePublicKeyFile = z.object({ schema: schemaTag(DEVICE_PUBKEY_SCHEMA), keyId: KeyId, public: Base64, deviceId: z.string().optional() });
export type DevicePublicKeyFile = z.infer<typeof DevicePublicKeyFile>;

/** The files an operator handles around sealed models, by their schema tag: what each is and what writes it. */
const FILE_KINDS: Readonly<Record<string, string>> = {
  [CONTENT_KEY_FILE_SCHEMA]: 'a content key (edgefleet.content-key/v1, written by "edgefleet model pack --encrypt")',
  [SEALED_KEY_SCHEMA]: 'a content key sealed to one box (edgefleet.sealed-key/v1, written by "edgefleet model seal")',
  [DEVICE_PUBKEY_SCHEMA]: 'a device public key (edgefleet.device-pubkey/v1, printed by "edgefleet-agent key show")',
  [DEVICE_KEY_SCHEMA]: 'a box\'s private device key (edgefleet.device-key/v1, DATA/device-key.json: it never leaves the box)',
  [SECRET_KEY_SCHEMA]: 'a signing secret key (edgefleet.key/v1, written by "edgefleet keys generate")',
  [PUBLIC_KEY_SCHEMA]: 'a signing public key (edgefleet.pubkey/v1, written by "edgefleet keys generate")',
  [TRUST_SCHEMA]: 'a trust document (edgefleet.trust/v1, written by "edgefleet trust init")',
};

/**
 * Refuses one known file given for another (the content key itself to `install --key`, the sealed copy to
 * `model seal --key`), naming both, before the schema would call it an unsupported version.
 */
function expectKind(value: unknown, expected: string, what: string): unknown {
  const o = value !== null && typeof value === 'object' ? (value as { schema?: unknown; signed?: { schema?: unknown } }) : {};
  const tag = typeof o.schema === 'string' ? o.schema : typeof o.signed?.schema === 'string' ? o.signed.schema : undefined;
  const is = tag !== undefined && tag !== expected && Object.hasOwn(FILE_KINDS, tag) ? FILE_KINDS[tag] : undefined;
  if (is) throw new AppError('INVALID_INPUT', `${what}: this is ${is}; expected ${FILE_KINDS[expected] ?? expected}`);
  return value;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileReadError(err, what, path);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('INVALID_INPUT', `${what} ${path} is not JSON (${secretJsonProblem(text, err)})`);
  }
}

export function contentKeyFile(key: Uint8Array, meta: { model?: string; version?: string } = {}): ContentKeyFile {
  return { schema: CONTENT_KEY_FILE_SCHEMA, keyId: contentKeyId(key), key: Buffer.from(key).toString('base64'), ...meta };
}

/** Writes a content key file with mode 0600 (it decrypts the model). */
export function writeContentKeyFile(path: string, key: Uint8Array, meta: { model?: string; version?: string } = {}): void {
  writeFileAtomic(path, `${JSON.stringify(contentKeyFile(key, meta), null, 2)}\n`, 0o600);
}

/** The key in a parsed content key file, checked against its keyId. */
export function contentKeyFromFile(f: ContentKeyFile, what: string): { key: Uint8Array; keyId: string } {
  const buf = Buffer.from(f.key, 'base64');
  if (buf.length !== CONTENT_KEY_BYTES) throw new AppError('INVALID_INPUT', `${what}: key has ${buf.length} bytes; expected ${CONTENT_KEY_BYTES}`);
  const key = new Uint8Array(buf);
  const keyId = contentKeyId(key);
  if (keyId !== f.keyId) throw new AppError('INVALID_INPUT', `${what}: keyId ${f.keyId} does not match the key (expected ${keyId})`);
  return { key, keyId };
}

export function readContentKeyFile(path: string): { key: Uint8Array; keyId: string } {
  const what = `content key file ${path}`;
  return contentKeyFromFile(parseWire(ContentKeyFile, expectKind(readJson(path, 'content key file'), CONTENT_KEY_FILE_SCHEMA, what), what), what);
}

export function readSealedKeyFile(path: string): SealedKey {
  const what = `sealed key file ${path}`;
  return parseWire(SealedKeySchema, expectKind(readJson(path, 'sealed key file'), SEALED_KEY_SCHEMA, what), what);
}

/** A device public key from a file written by `edgefleet-agent key show --out`, or given as base64. */
export function readDevicePublicKey(fileOrBase64: string): { keyId: string; publicKey: Uint8Array } {
  if (/^[A-Za-z0-9+/]{43}=$/.test(fileOrBase64)) {
    const publicKey = decodeBoxPublicKey(fileOrBase64, 'device public key');
    return { keyId: boxKeyId(publicKey), publicKey };
  }
  if (!existsSync(fileOrBase64)) {
    throw new AppError('INVALID_INPUT', `device public key ${fileOrBase64}: no such file, and not a public key in base64; expected the file `
      + '`edgefleet-agent key show --out` writes or its "public" (44 base64 characters)');
  }
  const what = `device public key file ${fileOrBase64}`;
  const f = parseWire(DevicePublicKeyFile, expectKind(readJson(fileOrBase64, 'device public key file'), DEVICE_PUBKEY_SCHEMA, what), what);
  const publicKey = decodeBoxPublicKey(f.public, what);
  const keyId = boxKeyId(publicKey);
  if (keyId !== f.keyId) throw new AppError('INVALID_INPUT', `${what}: keyId ${f.keyId} does not match the key (expected ${keyId})`);
  return { keyId, publicKey };
}
