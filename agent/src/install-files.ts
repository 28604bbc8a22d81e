// A file of the installed agent itself (its compiled code, proto/, node_modules: what the tarball installs,
// docs/decisions/0110-files-a-tarball-installs.md) missing at start is named as such, with what to do
// (reinstall), instead of `INTERNAL` with a bare ENOENT: it is neither the configuration's fault nor the
// data dir's, and no restart mends it (docs/operations.md "Troubleshooting by symptom").
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@edgefleet/shared/core';

/** The directory that holds agent/ and node_modules/: /opt/edgefleet when installed, the checkout in development. */
export const INSTALL_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

const inside = (dir: string, path: string) => {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

const REINSTALL = 'the install is incomplete or a file of it was removed: reinstall this version of the agent (install.sh from its tarball, or the package); its data dir is kept';

/**
 * INSTALL_INCOMPLETE for a file under INSTALL_ROOT that is not there (and not in the data dir, which may
 * lie inside a checkout), or a module of the install that cannot be found; undefined for anything else.
 */
export function missingInstallFile(err: unknown, dataDir: string, root = INSTALL_ROOT): AppError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ENOENT' && typeof e.path === 'string') {
    const path = resolve(e.path);
    if (!inside(root, path) || inside(resolve(dataDir), path)) return undefined;
    return new AppError('INSTALL_INCOMPLETE', `${path} is missing: it is a file of the installed agent (${root}), which reads it at start; ${REINSTALL}`, { cause: err });
  }
  if (e?.code === 'ERR_MODULE_NOT_FOUND') {
    return new AppError('INSTALL_INCOMPLETE', `a module of the installed agent (${root}) is missing: ${e.message}; ${REINSTALL}`, { cause: err });
  }
  return undefined;
}
