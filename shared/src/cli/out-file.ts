// An output file that must not be lost or overwritten by mistake, checked before the work whose result
// exists once (a device secret, a content key, a device key file): used by both CLIs (docs/cli.md).
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../errors.js';

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

