// One hub per database unless every hub on it runs in cluster mode (docs/hub.md "Several hubs",
// docs/decisions/0074-one-hub-per-database.md). At start, before the hub touches presence or starts a
// job, claimAtStart looks at the hub lease (lease-repo.ts): a hub without `cluster` takes it (marked
// sole) and keeps it for its whole life; a cluster hub only checks that no sole hub holds it. Another
// live holder in the way is waited for up to the lease's TTL (a stopping or killed hub's lease ends by
// then), then the start is refused with CONFLICT naming it. A holder on this host whose process is gone
// (killed with -9) is known dead: its lease is ended at once instead of waited for. "This host" is the
// host name plus a tag of the kernel's boot id and this process's PID namespace, so two machines or two
// containers that share a host name (and may reuse the same pid) never take each other for one.
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import type { LoggerPort } from '../mqtt/ports.js';
import type { LeaseRepo, LeaseRow } from './lease-repo.js';
import { HUB_LEASE } from './lease.js';

let tag: string | undefined;

/** This host's part of a default hub id (HOST-TAG-pid): TAG tells boots and PID namespaces apart (Linux; empty elsewhere). */
export function hostTag(): string {
  tag ??= hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) + namespaceTag();
  return tag;
}

function namespaceTag(): string {
  const read = (f: () => string): string => { try { return f().trim(); } catch { return ''; } };
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNs = read(() => readlinkSync('/proc/self/ns/pid'));
  if (!boot && !pidNs) return '';
  return '-' + createHash('sha256').update(`${boot}\n${pidNs}`).digest('hex').slice(0, 6);
}

/** A hub id for this process: HOST-TAG-pid. */
export function defaultHubId(): string {
  return `${hostTag()}-${process.pid}`;
}

/** True when `holder` is a default id of this host (HOST-TAG-pid) whose process is not running. */
export function deadOnThisHost(holder: string): boolean {
  const m = /^(.*)-(\d{1,10})$/.exec(holder);
  if (!m || m[1] !== hostTag()) return false;
  const pid = Number(m[2]);
  if (pid === process.pid || pid <= 1) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface ClaimOptions {
  repo: LeaseRepo;
  hubId: string;
  /** This hub runs without `cluster`: it takes the lease and allows no other hub. */
  sole: boolean;
  clock: Clock;
  logger: LoggerPort;
  ttlMs: number;
  /** How often a sole hub renews the lease it took until its HubLease renews it (and how often the wait looks again). */
  renewEveryMs: number;
}

/** Renews a sole hub's claimed lease until stopped (then HubLease renews it). */
export interface ClaimKeeper {
  stop(): void;
  /** Stops and ends the lease: a start that failed before its HubLease took over. */
  release(): void;
}

/**
 * Returns once this hub may start: a sole hub then holds the lease, renewed by the returned keeper.
 * Throws CONFLICT when another hub still holds it after up to ttlMs (plus one look).
 */
export async function claimAtStart(o: ClaimOptions): Promise<ClaimKeeper> {
  const started = Date.now();
  const until = started + o.ttlMs + o.renewEveryMs;
  let waiting = false;
  for (;;) {
    const now = o.clock.now().getTime();
    const row = o.repo.get(HUB_LEASE);
    const other = row && row.holder !== o.hubId && row.expiresAt > now && (o.sole || row.sole) ? row : null;
    if (!other) {
      if (!o.sole) return { stop: () => undefined, release: () => undefined };
      const mine = o.repo.acquire(HUB_LEASE, o.hubId, now, o.ttlMs, true);
      if (mine.holder === o.hubId && mine.expiresAt > now) return keep(o);
      continue; // another hub took it in between: look at it
    }
    if (deadOnThisHost(other.holder)) {
      o.logger.info({ holder: other.holder, renewedAt: other.renewedAt }, 'the hub holding the hub lease is not running on this host (killed): ending its lease');
      o.repo.release(HUB_LEASE, other.holder, now);
      continue;
    }
    if (Date.now() >= until) throw refusal(o, other, Date.now() - started);
    if (!waiting) {
      waiting = true;
      o.logger.warn({ holder: other.holder, sole: other.sole, renewedAt: other.renewedAt, waitMs: until - started }, 'another hub holds this database\'s hub lease: waiting for it to end');
    }
    await sleep(Math.max(1, Math.min(o.renewEveryMs, 500, until - Date.now())));
  }
}

function keep(o: ClaimOptions): ClaimKeeper {
  const timer = setInterval(() => {
    try {
      o.repo.acquire(HUB_LEASE, o.hubId, o.clock.now().getTime(), o.ttlMs, true);
    } catch (err) {
      o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not take or renew the hub lease');
    }
  }, o.renewEveryMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    release: () => {
      clearInterval(timer);
      try {
        o.repo.release(HUB_LEASE, o.hubId, o.clock.now().getTime());
      } catch (err) {
        o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'stopping: releasing the hub lease');
      }
    },
  };
}

/** `waitedMs`: the time it waited, the lease's TTL and one renewal more (the message said the TTL alone). */
function refusal(o: ClaimOptions, other: LeaseRow, waitedMs: number): AppError {
  const who = other.sole ? `hub ${other.holder} (without cluster)` : `hub ${other.holder} (in cluster mode)`;
  const fix = o.sole
    ? 'stop that hub first, or run every hub on this database with "cluster" and an external broker (docs/hub.md "Several hubs")'
    : 'stop that hub first, or turn "cluster" on in it too (docs/hub.md "Several hubs")';
  return new AppError('CONFLICT', `another hub uses this database: ${who} holds the hub lease, last renewed at ${other.renewedAt} (waited ${Math.round(waitedMs / 1000)} s for it to end); `
    + `expected ${o.sole ? 'no other hub on it, as this hub runs without "cluster"' : 'only cluster hubs on it'}: ${fix}`);
}
