// The hub's key for content keys at rest (docs/security.md "Sealed models"): DATA/content-keys.key,
// 32 random bytes made at first start, mode 0600, never in hub.db. Content keys are stored in hub.db
// wrapped with it (AES-256-GCM, the content key's id as additional data), so a copy of hub.db or of
// a backup alone decrypts no model.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, writeFileAtomic } from '@edgefleet/shared';

export const KEYSTORE_FILE = 'content-keys.key';
const WRAP = 'v1';

export class Keystore {
  private constructor(private readonly key: Buffer) {}

  /** DATA/content-keys.key, made (0600) when there is none. A readable-by-others file is refused. */
  static open(dataDir: string): Keystore {
    const path = join(dataDir, KEYSTORE_FILE);
    if (!existsSync(path)) {
      writeFileAtomic(path, `${randomBytes(32).toString('base64')}\n`, 0o600);
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new AppError('CONFIG_INVALID', `${path} has mode 0${mode.toString(8)}; expected 0600 (it decrypts every content key): chmod 600 it`);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new AppError('CONFIG_INVALID', `${path}: expected 32 bytes of base64, got ${key.length} bytes`);
    return new Keystore(key);
  }

  /** For tests: a keystore over a given key. */
  static ofKey(key: Buffer): Keystore {
    return new Keystore(Buffer.from(key));
  }

  wrap(contentKey: Uint8Array, keyId: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(keyId, 'utf8'));
    const ct = Buffer.concat([c.update(contentKey), c.final(), c.getAuthTag()]);
    return `${WRAP}:${Buffer.concat([nonce, ct]).toString('base64')}`;
  }

  unwrap(wrapped: string, keyId: string): Uint8Array {
    const [v, b64] = wrapped.split(':');
    const raw = Buffer.from(b64 ?? '', 'base64');
    if (v !== WRAP || raw.length !== 12 + 32 + 16) throw new AppError('INTERNAL', `stored content key ${keyId.slice(0, 12)}… is not in the "${WRAP}" format`);
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(keyId, 'utf8'));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return new Uint8Array(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]));
    } catch (err) {
      throw new AppError('DECRYPT_FAILED', `stored content key ${keyId.slice(0, 12)}… does not open with DATA/${KEYSTORE_FILE} (a different hub's key file?)`, { cause: err });
    }
  }
}
