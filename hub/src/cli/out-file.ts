// Output files of the operator CLI that must not be lost (docs/cli.md "Nothing is written when a command
// fails"). checkOutFile runs BEFORE the work whose result exists once: a device secret the hub issues
// (devices add, rotate-secret), a content key (model pack --encrypt, rekey). A path that cannot be
// written, or a file that would be replaced without --force, is refused while nothing has happened yet.
// commitSealedBundle writes an encrypted bundle's key before the bundle is moved into place, so an
// encrypted bundle never stands without its key.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncPath } from '@edgefleet/shared';
import { checkOutFile } from '@edgefleet/shared/cli';

export { checkOutFile };

/**
 * Where a command that makes a bundle (model pack, model rekey) writes it: `--out` as a file, or
 * `fileName()` inside `--out` when it is a directory (in `defaultDir` without `--out`). Checked like
 * checkOutFile before any work, so a missing directory is named as such, not as a failed temp file
 * after onnxruntime ran.
 */
export function bundleOutPath(outArg: string | undefined, cwd: string, defaultDir: string, fileName: () => string, force: boolean): string {
  const base = outArg === undefined ? defaultDir : resolve(cwd, outArg);
  const out = outArg === undefined || (existsSync(base) && statSync(base).isDirectory()) ? join(base, fileName()) : base;
  checkOutFile(out, outArg === undefined ? 'bundle' : '--out', { force });
  return out;
}

/**
 * Makes an encrypted bundle at `out` with its content key at `keyOut`: `write` makes the bundle at a
 * temp path beside `out`, `writeKey` writes the key file (atomically, 0600) and it is made durable, and
 * only then is the bundle renamed into place. On a failure the temp bundle is removed, and the key file
 * too when this call made it; a kill leaves a hidden temp file at most, or a key without its bundle.
 */
export async function commitSealedBundle<T>(out: string, keyOut: string, write: (tmp: string) => Promise<T>, writeKey: (written: T) => void): Promise<T> {
  const tmp = join(dirname(out), `.${basename(out)}.new-${randomBytes(6).toString('hex')}`);
  const keyExisted = existsSync(keyOut);
  let keyWritten = false;
  let r: T;
  try {
    r = await write(tmp);
    writeKey(r);
    keyWritten = true;
    fsyncPath(dirname(keyOut));
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (keyWritten && !keyExisted) rmSync(keyOut, { force: true });
    throw err;
  }
  fsyncPath(dirname(out));
  return r;
}
