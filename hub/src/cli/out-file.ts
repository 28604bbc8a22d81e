// Output files of the operator CLI that must not be lost (docs/cli.md "Nothing is written when a command
// fails"). checkOutFile runs BEFORE the work whose result exists once: a device secret the hub issues
// (devices add, rotate-secret), a content key (model pack --encrypt, rekey). A path that cannot be
// written, or a file that would be replaced without --force, is refused while nothing has happened yet.
// commitSealedBundle writes an encrypted bundle's key before the bundle is moved into place, so an
// encrypted bundle never stands without its key.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError, fsyncPath } from '@edgefleet/shared';

/**
 * Refuses, naming `flag`, an output path whose directory is missing or not writable, a path that is a
 * directory, and an existing file unless `force`.
 */
export function checkOutFile(path: string, flag: string, opts: { force?: boolean } = {}): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new AppError('NOT_FOUND', `${flag} ${path}: the directory ${dir} does not exist; expected an existing directory`);
  }
  if (!st.isDirectory()) throw new AppError('NOT_FOUND', `${flag} ${path}: ${dir} is not a directory; expected an existing directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new AppError('IO_ERROR', `${flag} ${path}: cannot write in ${dir} (${(err as Error).message}); expected a directory this user can write`, { cause: err });
  }
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) throw new AppError('CONFLICT', `${flag} ${path} is a directory; expected a file path`);
  if (!opts.force) throw new AppError('CONFLICT', `${flag} ${path} already exists; expected a new file (add --force to replace it)`);
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
