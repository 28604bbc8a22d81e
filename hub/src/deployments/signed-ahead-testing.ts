// What the tests of a deployment and of an undeploy signed ahead share (signed-ahead.test.ts,
// signed-ahead-undeploy.test.ts; docs/decisions/0170-deployments-signed-ahead-in-chunks.md): the fleet's size
// and the deployment to all of it, the test on each backend, a commit that fails mid-way and a stop while signing.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppError, DeploymentCreate } from '@edgefleet/shared';
import type { Backend } from '../testing/backends.js';
import type { TestHub } from './testing.js';
import { SIGN_CHUNK } from './signed-ahead.js';

/** The fleet's devices (fleetHub): more than two chunks. */
export const N = SIGN_CHUNK * 2 + 50;
/** A deployment to every device of the fleet (all tagged ring=a). */
export const REQ: DeploymentCreate = { model: 'audio-energy', version: '1.0.0', target: { tags: { ring: 'a' } }, reason: 'to many' };

/**
 * forEachBackend's arguments (spread them: the runner starts its PostgreSQL cluster for a file that calls
 * forEachBackend, scripts/test.mjs): on each backend, `check` with two fresh fleets `make` gives (one to sign
 * ahead, one to commit at once), both closed after.
 */
export function sameAsOnce<T>(make: (database?: string) => Promise<T>, hubOf: (t: T) => TestHub, title: string,
  check: (ahead: T, once: T) => Promise<void>): [use: (b: Backend) => void, suite: () => void] {
  let backend: Backend;
  return [(b) => { backend = b; }, () => {
    it(title, async () => {
      const [ahead, once] = [await make(backend.database()), await make(backend.database())];
      try {
        await check(ahead, once);
      } finally {
        await hubOf(ahead).close();
        await hubOf(once).close();
      }
    });
  }];
}

/**
 * The `nth` document put from now fails with "disk failed" (a change's chunks put theirs first, then roll them
 * back: N + 150 is the commit's 150th). Returns what puts as before.
 */
export function failPut(h: TestHub, nth: number): () => void {
  const put = h.store.desired.put.bind(h.store.desired);
  let puts = 0;
  h.store.desired.put = (d) => {
    if (++puts === nth) throw new Error('disk failed');
    put(d);
  };
  return () => { h.store.desired.put = put; };
}

/** Stops the deployments part while `signing` is signed ahead: it fails NOT_READY with `message` (a string: exactly), and nothing is left signing. */
export async function stopWhileSigned(h: TestHub, signing: Promise<unknown>, message: string | RegExp): Promise<void> {
  const svc = h.parts.deployments;
  const stopped = svc.stop();
  await assert.rejects(signing, (e: AppError) => e.code === 'NOT_READY' && (typeof message === 'string' ? e.message === message : message.test(e.message)));
  await stopped;
  assert.equal(svc.signingAhead(), null);
}
