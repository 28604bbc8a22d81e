// Sealed models on the wire (docs/decisions/0029-sealed-models.md): how a manifest says its files
// are encrypted, a content key sealed to one device, and a device's X25519 public key.
import { z } from 'zod';
import { Base64, Count, KeyId, Sha256Hex, schemaTag } from './common.js';
import { ENCRYPTION_ALG, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, SEALED_KEY_SCHEMA } from '../crypto/sealed.js';

/** Manifest `encryption`: every file is encrypted with one content key, named by its id. */
export const BundleEncryption = z.object({
  alg: z.literal(ENCRYPTION_ALG, { error: `expected alg "${ENCRYPTION_ALG}"` }),
  keyId: Sha256Hex,
});
export type BundleEncryption = z.infer<typeof BundleEncryption>;

/** Manifest `files[].encryption`; the file's sha256 and size are the ciphertext's. */
export const FileEncryptionSchema = z.object({
  chunkSize: z.number().int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES),
  nonce: Base64,
  plainSize: Count,
});

export const SealedKeySchema = z.object({
  schema: schemaTag(SEALED_KEY_SCHEMA),
  keyId: Sha256Hex,
  to: KeyId,
  epk: Base64,
  nonce: Base64,
  box: Base64,
});
export type SealedKeyWire = z.infer<typeof SealedKeySchema>;

/** A device's X25519 public key (enrollment request, reported state). */
export const DevicePublicKey = z.object({ keyId: KeyId, public: Base64 });
export type DevicePublicKey = z.infer<typeof DevicePublicKey>;

/** PUT /models/{name}/versions/{version}/content-key: the version's content key (base64), from the key file "model pack --encrypt" wrote. */
export const ContentKeyPut = z.object({ key: Base64 }).strict();
export const ContentKeyStored = z.object({ model: z.string(), version: z.string(), keyId: Sha256Hex, outcome: z.enum(['created', 'exists']) });
export type ContentKeyStored = z.infer<typeof ContentKeyStored>;
