// The hub's key for content keys at rest (docs/security.md "Sealed models"): DATA/content-keys.key,
// 32 random bytes made at first start, mode 0600, never in hub.db; or the file the config's
// `contentKeys` (--content-keys FILE) names, which must exist: several hubs on one database name one
// copy of the same file (docs/hub.md "Several hubs"). Content keys are stored in hub.db wrapped with it
// (AES-256-GCM, the content key's id as additional data), so a copy of hub.db or of a backup alone
// decrypts no model. Made so that it never replaces one that exists: two hubs starting at the same
// moment on a new shared data dir end with the file of whichever made it first (createKeyFile).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError, ensurePrivateDir, fsyncPath } from '@edgefleet/shared';

export const KEYSTORE_FILE = 'content-keys.key';
const WRAP = 'v1';

/** How to make a content-keys key file by hand (for a missing `contentKeys` file and the docs). */
export function makeKeyFileCommand(path: string): string {
  return `(umask 077; head -c 32 /dev/urandom | base64 > ${path})`;
}

/** Errors of a filesystem without hard links: createKeyFile then creates the file itself, exclusively. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Makes a new key file at `path` (0600, 32 random bytes in base64) unless a file is there already, and
 * never replaces one: true when this call made it, false when another hub (or process) had. The key is
 * written and fsynced in a temp file next to it, which is then hard-linked to `path` (EEXIST when
 * another hub made it first: this one's temp is dropped and the winner's file read), so `path` is never
 * seen half-written. A plain atomic write (temp + rename) would let the second of two hubs starting at
 * the same moment replace the first's key after the first had wrapped content keys with it. On a
 * filesystem without hard links the file is created with O_EXCL instead (never replaces either).
 */
export function createKeyFile(path: string): boolean {
  const text = Buffer.from(`${randomBytes(32).toString('base64')}\n`, 'utf8');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  writeSynced(tmp, text);
  let made: boolean;
  try {
    linkSync(tmp, path);
    made = true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') made = false;
    else if (NO_LINKS.has(code)) made = createExclusive(path, text);
    else throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncPath(dir);
  return made;
}

function writeSynced(path: string, data: Buffer): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function createExclusive(path: string, data: Buffer): boolean {
  try {
    writeSynced(path, data);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export class Keystore {
  /** `path`: the key file, named in errors and logs. */
  private constructor(private readonly key: Buffer, readonly path: string) {}

  /**
   * `file` (the config's `contentKeys`) when given: it must exist, and a missing one is CONFIG_INVALID
   * naming it and how to make it; the hub never makes it, since hubs that each made their own would
   * store content keys the others cannot open. Otherwise DATA/content-keys.key, made (0600, with the
   * data dir) when there is none, never replacing one another hub made meanwhile (createKeyFile). A
   * readable-by-others file is refused. `hooks.beforeCreate`, for tests: runs after the file was found
   * missing and before it is made (where a hub starting at the same moment makes it first).
   */
  static open(dataDir: string, file?: string, hooks: { beforeCreate?: () => void } = {}): Keystore {
    const path = file ?? join(dataDir, KEYSTORE_FILE);
    if (!existsSync(path)) {
      if (file !== undefined) {
        throw new AppError('CONFIG_INVALID',
          `content keys key file ${path} (contentKeys, --content-keys) does not exist; the hub makes it only in its data dir, when contentKeys is not given. ` +
          `Every hub on one database needs the same file: copy the ${KEYSTORE_FILE} of the hub that made it (its data dir; mode 0600) to ${path}, ` +
          `or, before any hub has stored a content key, make a new one with: ${makeKeyFileCommand(path)}`);
      }
      ensurePrivateDir(dataDir);
      hooks.beforeCreate?.();
      createKeyFile(path);
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
    try {
      return new Uint8Array(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]));
    } catch (err) {
      throw new AppError('DECRYPT_FAILED', `stored content key ${keyId.slice(0, 12)}… does not open with ${this.path} (a different hub's key file?)`, { cause: err });
    }
  }
}
