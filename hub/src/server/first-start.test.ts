// Trust on a hub that already has one: giving it a new trust.json must be a proper root rotation
// (higher version, signed by a threshold of the stored root keys and of its own); a downgrade or a
// document signed only by a new root is refused and the stored trust stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, createTrustBody, generateKeyPair, signEnvelope } from '@edgefleet/shared';
import { HubConfig } from '../config.js';
import { loadTrust } from './first-start.js';

test('a new trust document for a hub must chain from the stored one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-trust-'));
  try {
    const [root1, root2, root3, release, hub] = [generateKeyPair('root', 'r1'), generateKeyPair('root', 'r2'), generateKeyPair('root', 'r3'), generateKeyPair('release', 'rel'), generateKeyPair('hub', 'hub')];
    const expires = new Date(Date.now() + 86_400_000);
    const write = (name: string, doc: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(doc));
      return p;
    };
    const v1 = write('v1.json', signEnvelope(createTrustBody({ version: 1, expires, root: [root1], release: [release], hub: [hub] }), [root1]));
    const v2 = write('v2.json', signEnvelope(createTrustBody({ version: 2, expires, root: [root2], release: [release], hub: [hub] }), [root1, root2]));
    const v3NewRootOnly = write('v3.json', signEnvelope(createTrustBody({ version: 3, expires, root: [root3], release: [release], hub: [hub] }), [root3]));
    const data = join(dir, 'data');
    const cfg = (trust?: string) => HubConfig.parse({ dataDir: data, ...(trust ? { trust } : {}) });
    const now = new Date();
    const stored = () => (JSON.parse(readFileSync(join(data, 'trust.json'), 'utf8')) as { signed: { version: number } }).signed.version;

    mkdirSync(data, { recursive: true });
    assert.equal(loadTrust(cfg(v1), hub, now).trust.version, 1);
    assert.equal(loadTrust(cfg(v1), hub, now).trust.version, 1, 'the same document again is fine');
    assert.equal(loadTrust(cfg(), hub, now).trust.version, 1, 'without --trust the stored one is used');
    assert.equal(loadTrust(cfg(v2), hub, now).trust.version, 2, 'a proper rotation is taken');
    assert.equal(stored(), 2);
    assert.throws(() => loadTrust(cfg(v3NewRootOnly), hub, now), (e: unknown) => e instanceof AppError && e.code === 'TRUST_ROTATION_INVALID' && /current/i.test(e.message));
    // A unit still naming the document from before the rotation: which one the hub keeps, and how to name it.
    const storedPath = join(data, 'trust.json');
    assert.throws(() => loadTrust(cfg(v1), hub, now), (e: unknown) => e instanceof AppError && e.code === 'TRUST_ROTATION_INVALID' &&
      e.message === `trust document ${v1} is version 1, older than the version 2 this hub already has (${storedPath}, from an earlier --trust); a hub never goes back to an older trust document. ` +
        `Expected --trust naming the document the hub has (cp ${storedPath} ${v1}), or none (the stored one is used), or version 3 made with edgefleet trust rotate --from ${storedPath}`);
    const otherV2 = write('other-v2.json', signEnvelope(createTrustBody({ version: 2, expires: new Date(expires.getTime() + 1000), root: [root2], release: [release], hub: [hub] }), [root2]));
    assert.throws(() => loadTrust(cfg(otherV2), hub, now), (e: unknown) => e instanceof AppError && e.code === 'TRUST_ROTATION_INVALID' &&
      e.message.startsWith(`trust document ${otherV2} is version 2, as is the one this hub already has (${storedPath}), but differs from it. Expected --trust naming`));
    assert.equal(stored(), 2, 'the stored trust is untouched by refused documents');
    // The versions before are kept, oldest first, to be published with the newest (an agent offline through
    // several root rotations walks them); a restart, with or without the same document, keeps them.
    const versions = (c: Array<{ signed: { version: number } }>) => c.map((d) => d.signed.version);
    assert.deepEqual(versions(loadTrust(cfg(), hub, now).chain), [1]);
    const v3 = write('v3-proper.json', signEnvelope(createTrustBody({ version: 3, expires, root: [root3], release: [release], hub: [hub] }), [root2, root3]));
    assert.deepEqual(versions(loadTrust(cfg(v3), hub, now).chain), [1, 2]);
    assert.deepEqual(versions(loadTrust(cfg(v3), hub, now).chain), [1, 2], 'the same document again adds nothing');
    assert.deepEqual(versions(loadTrust(cfg(), hub, now).chain), [1, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
