// The data dir of `npm start` and `npm run example:loop` (--data-dir, default .data/fleet; docs/fleet.md
// step 1) is wiped at start and removed at stop. Only a dir the fleet made may be: `--data-dir .` or
// `--data-dir ~` once removed the repository or the home directory. The fleet marks the dirs it makes
// with FLEET_MARK; a new or empty dir is taken and marked, a marked one (or one holding only what a run
// writes, left by a run from before the mark with --keep-data) is wiped, anything else is refused
// before anything is removed.
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '@edgefleet/shared';

/** The file that marks a data dir the fleet made (and so may wipe). */
export const FLEET_MARK = '.edgefleet-fleet';
/** What a run writes in its data dir: a dir holding only these was made by a run from before the mark. */
const FLEET_ENTRIES = new Set(['hub', 'hub.config.json', 'agents', 'logs', 'operator-capture.key']);

/**
 * Makes `dir` a fresh, empty fleet data dir holding `logs/` (and the mark): a missing or empty dir is
 * taken, one an earlier run made is wiped. Throws CONFLICT, removing nothing, for a dir holding files
 * the fleet did not make or a path that is not a directory.
 */
export function freshFleetDataDir(dir: string): void {
  const path = resolve(dir);
  let entries: string[] | null = null;
  try {
    if (!lstatSync(path).isDirectory()) {
      throw new AppError('CONFLICT', `--data-dir ${path} is not a directory: expected a new or empty directory for the fleet (it is wiped at start and removed at stop); nothing was removed`);
    }
    entries = readdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (entries && entries.length > 0) {
    if (!entries.includes(FLEET_MARK) && !(entries.includes('logs') && entries.every((e) => FLEET_ENTRIES.has(e)))) {
      const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
      throw new AppError('CONFLICT', `--data-dir ${path} holds files the fleet did not make (${shown}): expected a new or empty directory, or one an earlier run made (it holds ${FLEET_MARK}), since the fleet wipes it at start and removes it at stop; nothing was removed`);
    }
    rmSync(path, { recursive: true, force: true });
  }
  mkdirSync(join(path, 'logs'), { recursive: true });
  writeFileSync(join(path, FLEET_MARK), 'made by the edgefleet local fleet (npm start, npm run example:loop): removed when it stops unless --keep-data\n');
}
