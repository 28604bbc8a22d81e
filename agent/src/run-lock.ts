// One daemon per data dir (docs/agent.md "Running"): `edgefleet-agent run` holds DATA/agent.lock, a
// file naming its pid, made with O_EXCL. A second `run` on the same data dir while the first is alive is
// refused (CONFLICT) before it reads or writes anything there: two daemons would each recover the
// open summary windows (counting every prediction twice), drain one outbox and take the hub session
// from each other. A lock whose process is gone (killed, power cut, a reboot: the boot id and the
// process's start time are recorded with the pid) is stale and taken over; so is one naming this
// process (a container's pid 1 restarted).
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, ensurePrivateDir } from '@edgefleet/shared/core';

export const RUN_LOCK_FILE = 'agent.lock';

interface Owner { pid: number; since: string; proc?: string | undefined }

export interface RunLock {
  readonly path: string;
  /** Removes the lock if it is still this process's (idempotent, never throws). */
  release(): void;
}

/**
 * Which process a pid is, on Linux: the boot's id and the process's start time (/proc/PID/stat field 22),
 * so a lock left by a process before a reboot, whose pid another process now has, is not taken for
 * live. Undefined where /proc does not say (another OS); "zombie" for an exited process not yet reaped.
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state is first
    if (fields[0] === 'Z' || fields[0] === 'X') return 'zombie';
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}:${fields[19] ?? '?'}`;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `owner` still runs: its pid exists (EPERM: as another user) and, where /proc says, it is the same process. */
export function ownerAlive(owner: { pid: number; proc?: string | undefined }): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processIdentity(owner.pid);
  if (now === 'zombie') return false;
  return owner.proc === undefined || now === undefined || now === owner.proc;
}

function readOwner(path: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>;
    return Number.isInteger(o.pid) && (o.pid as number) > 0 ? { pid: o.pid as number, since: String(o.since ?? '?'), proc: typeof o.proc === 'string' ? o.proc : undefined } : null;
  } catch {
    return null; // gone meanwhile, or half-written by a process killed while writing it: not a live owner's
  }
}

/** Takes DATA/agent.lock for this process, or throws CONFLICT naming the live agent that holds it. */
export function takeRunLock(dataDir: string, opts: { pid?: number; alive?: (owner: Owner) => boolean; now?: () => Date } = {}): RunLock {
  const pid = opts.pid ?? process.pid;
  const alive = opts.alive ?? ownerAlive;
  const proc = processIdentity(pid);
  ensurePrivateDir(dataDir);
  const path = join(dataDir, RUN_LOCK_FILE);
  // Two rounds: a stale lock removed, then made again; a third contender that won meanwhile is live.
  for (let round = 0; round < 3; round++) {
    try {
      writeFileSync(path, `${JSON.stringify({ pid, since: (opts.now?.() ?? new Date()).toISOString(), ...(proc ? { proc } : {}) })}\n`, { flag: 'wx', mode: 0o600 });
      return {
        path,
        release: () => {
          try {
            if (readOwner(path)?.pid === pid) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      throw new AppError('IO_ERROR', `${path} is a directory: expected the lock file "edgefleet-agent run" makes and removes (it holds only a pid): `
        + `remove it (rmdir ${path}) and start again`, { details: { lock: path } });
    }
    const owner = readOwner(path);
    if (owner && owner.pid !== pid && alive(owner)) {
      throw new AppError('CONFLICT', `another agent (pid ${owner.pid}, running since ${owner.since}) runs on the data dir ${dataDir}: `
        + 'expected one agent per data dir (stop that one first, e.g. "systemctl stop edgefleet-agent", or give this one another --data-dir)', { details: { pid: owner.pid, lock: path } });
    }
    try {
      unlinkSync(path); // stale: its process is gone (or it is this process's own)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new AppError('CONFLICT', `the data dir ${dataDir} is being taken by another agent starting at the same time: expected one agent per data dir`);
}
