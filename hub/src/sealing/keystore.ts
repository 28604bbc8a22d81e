// The hub's key for content keys at rest (docs/security.md "Sealed models"): DATA/content-keys.key,
// 32 random bytes made at first start, mode 0600, never in hub.db; or the file the config's
// `contentKeys` (--content-keys FILE) names, which must exist: several hubs on one database name one
// copy of the same file (docs/hub.md "Several hubs"). Content keys are stored in hub.db wrapped with it
// (AES-256-GCM, the content key's id as additional data), so a copy of hub.db or of a backup alone
// decrypts no model. Made so that it never replaces one that exists: two hubs starting at the same
// moment on a new shared data dir end with the file of whichever made it first (createFileOnce).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, ensurePrivateDir } from '@edgefleet/shared';
import { createFileOnce, type CreateOnceOptions } from './file-once.js';

export const KEYSTORE_FILE = 'content-keys.key';
const WRAP = 'v1';

/** How to make a content-keys key file by hand (for a missing `contentKeys` file and the docs). */
export function makeKeyFileCommand(path: string): string {
  return `(umask 077; head -c 32 /dev/urandom | base64 > ${path})`;
}

export class Keystore {
  /** `path`: the key file, named in errors and logs. */
  private constructor(private readonly key: Buffer, readonly path: string) {}

  /**
   * `file` (the config's `contentKeys`) when given: it must exist, and a missing one is CONFIG_INVALID
   * naming it and how to make it; the hub never makes it, since hubs that each made their own would
   * store content keys the others cannot open. Otherwise DATA/content-keys.key, made (0600, with the
   * data dir) when there is none, never replacing one another hub made meanwhile (createFileOnce). A
   * readable-by-others file is refused. `hooks`, for tests: createFileOnce's `beforeCreate` (where a hub
   * starting at the same moment makes the file first) and `link`.
   */
  static open(dataDir: string, file?: string, hooks: Pick<CreateOnceOptions, 'beforeCreate' | 'link'> = {}): Keystore {
    const path = file ?? join(dataDir, KEYSTORE_FILE);
    if (file !== undefined && !existsSync(path)) {
      throw new AppError('CONFIG_INVALID',
        `content keys key file ${path} (contentKeys, --content-keys) does not exist; the hub makes it only in its data dir, when contentKeys is not given. ` +
        `Every hub on one database needs the same file: copy the ${KEYSTORE_FILE} of the hub that made it (its data dir; mode 0600) to ${path}, ` +
        `or, before any hub has stored a content key, make a new one with: ${makeKeyFileCommand(path)}`);
    }
    if (file === undefined) {
      ensurePrivateDir(dataDir);
      createFileOnce(path, () => `${randomBytes(32).toString('base64')}\n`, hooks);
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new AppError('CONFIG_INVALID', `${path} has mode 0${mode.toString(8)}; expected 0600 (it decrypts every content key): chmod 600 it`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `cannot read content keys key file ${path}: ${(err as Error).message}`);
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== 32) throw new AppError('CONFIG_INVALID', `${path}: expected 32 bytes of base64, got ${key.length} bytes`);
    return new Keystore(key, path);
  }

  /** For tests: a keystore over a given key. */
  static ofKey(key: Buffer): Keystore {
    return new Keystore(Buffer.from(key), '(a key given in memory)');
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
    const parts: Buffer[] = [];
    try {
      parts.push(d.update(raw.subarray(12, raw.length - 16)), d.final());
      const plain = Buffer.concat(parts);
      parts.push(plain);
      return new Uint8Array(plain);
    } catch (err) {
      throw new AppError('DECRYPT_FAILED', `stored content key ${keyId.slice(0, 12)}… does not open with ${this.path} (a different hub's key file?)`, { cause: err });
    } finally {
      for (const p of parts) p.fill(0); // the copy returned is the only one left; its callers zero it
    }
  }
}
