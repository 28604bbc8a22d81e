// What an install checks of a verified bundle before any file is copied (manager.ts, docs/agent.md
// "Installing"), and the verify and copy of its files into the blob store (with their progress: docs/cli.md "Progress"). Each refusal names what was wrong
// and what was expected; nothing is written before every check passed.
import { AppError, satisfiesMin, type SealedKey } from '@edgefleet/shared/core';
import { stat } from 'node:fs/promises';
import type { TrustBody } from '@edgefleet/shared';
import type { Progress } from '@edgefleet/shared/cli';
import type { loadWire } from '../wire.js';
import { assertTrustCurrent } from '../trust-current.js';
import type { ModelManagerDeps } from './manager-deps.js';

type Wire = Awaited<ReturnType<typeof loadWire>>;
export type VerifiedBundle = Awaited<ReturnType<Wire['verifyBundle']>>;

/** Refuses a bundle this box must not install: expired trust, too old an agent, other content under the version, a key it needs not. */
export function admitBundle(d: Pick<ModelManagerDeps, 'models' | 'agentVersion' | 'now'>, trust: TrustBody, b: VerifiedBundle, sealedKey: SealedKey | undefined): void {
  const m = b.manifest;
  // Serving never depends on trust expiry; installing does (docs/operations.md "Clocks that are wrong").
  assertTrustCurrent(trust, d.now?.() ?? new Date(), `installing ${m.name}@${m.version}`);
  if (!satisfiesMin(d.agentVersion, m.runtime.minAgentVersion)) {
    throw new AppError('AGENT_TOO_OLD', `${m.name}@${m.version} needs agent ${m.runtime.minAgentVersion} or newer: this agent is ${d.agentVersion}`);
  }
  // One version, one content, as in the hub's registry: another bundle under an installed version would
  // replace its manifest while a running daemon keeps serving the old files.
  const have = d.models.getVersion(m.name, m.version);
  if (have && have.manifestSha256 !== b.manifestSha256) {
    throw new AppError('CONFLICT', `${m.name}@${m.version} is installed with other content (manifest ${have.manifestSha256.slice(0, 12)}…, this bundle's ${b.manifestSha256.slice(0, 12)}…): expected the same bundle, or a new version`);
  }
  // A box without the key is refused before anything is copied (the signatures are checked above), and
  // so is a key with a bundle that needs none (the operator took the wrong bundle or the wrong key).
  if (sealedKey && !m.encryption) {
    throw new AppError('INVALID_INPUT', `${m.name}@${m.version} is not encrypted: it needs no --key (the sealed key is for content key ${sealedKey.keyId.slice(0, 12)}…); expected the encrypted bundle the key was sealed for`);
  }
}

/** The bundle verified (every file hashed, the signatures), its bytes on a `verifying` bar over its size when `progress` is given. */
export async function verifyForInstall(wire: Wire, bundlePath: string, trust: TrustBody, progress?: Progress): Promise<VerifiedBundle> {
  if (!progress) return wire.verifyBundle(bundlePath, trust);
  const bar = progress('verifying', await stat(bundlePath).then((s) => s.size, () => 0));
  const b = await wire.verifyBundle(bundlePath, trust, { onBytes: (n) => bar.tick(n) });
  bar.done();
  return b;
}

/**
 * Copies the bundle's files into the blob store; `beforeRename` runs before each file is renamed in. With
 * `progress`, a `copying` bar over the files' bytes (a file already stored counts once checked).
 */
export async function storeBundleFiles(d: Pick<ModelManagerDeps, 'blobs'>, wire: Wire, bundlePath: string, b: VerifiedBundle, beforeRename: () => Promise<void>, progress?: Progress): Promise<void> {
  const m = b.manifest;
  const bar = progress?.('copying', b.files.reduce((n, f) => n + f.size, 0));
  for (const f of b.files) {
    // A stored file is reused only when it still hashes right, so a reinstall replaces one that rotted
    // (what activate's HASH_MISMATCH asks for). Marked first: a prune in another process spares it (prune.ts).
    await d.blobs.touch(f.sha256);
    if (await d.blobs.verify(f.sha256, f.size)) {
      bar?.tick(f.size);
      continue;
    }
    await d.blobs.write(f.sha256, f.size, `${m.name}@${m.version}: ${f.path}`, async (write) => {
      const { stream } = await wire.openBundleEntry(bundlePath, f.path);
      for await (const chunk of stream) {
        await write(chunk as Buffer);
        bar?.tick((chunk as Buffer).length);
      }
    }, beforeRename);
  }
  bar?.done();
}
