// What the hub needs before it serves: its signing key (created on first start
// unless --hub-key is given), the trust document (copied into DATA/trust.json,
// whose hub role must include the hub key), and an admin token written once to
// DATA/admin.token (mode 0600). A data dir that holds an unfinished restore is refused before any of
// that is created (docs/operations.md "Backup and restore").
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppError, canonicalJson, generateKeyPair, readSecretKeyFile, verifyTrustDocument, verifyTrustRotation, writeFileAtomic, writeKeyFiles,
  type KeyPair, type TrustBody, type TrustDocument,
} from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import type { Store } from '../store/index.js';
import { unfinishedRestore } from './backup.js';

export interface Identity {
  hubKey: KeyPair;
  trustDoc: TrustDocument;
  trust: TrustBody;
  /** The admin token when it was created now (printed once), else null. */
  newAdminToken: string | null;
}

/**
 * A restore that was killed leaves its marker (server/backup.ts): the dir holds part of a backup at most,
 * and starting on it would make a new, empty hub (a new key, trust and admin token) out of it.
 */
export function refuseUnfinishedRestore(dataDir: string): void {
  const u = unfinishedRestore(dataDir);
  if (!u) return;
  throw new AppError('CONFIG_INVALID',
    `data dir ${dataDir} holds an unfinished restore (from ${u.from}, started ${u.startedAt}): it was interrupted, so the dir holds part of a backup at most. ` +
    `Empty the data dir (remove everything in it) and restore again: edgefleet-hub restore --from ${u.from} --data-dir ${dataDir}`);
}

export async function loadHubKey(cfg: HubConfig): Promise<KeyPair> {
  // hub.ts refuses it before it opens the store; checked here too for any other caller.
  refuseUnfinishedRestore(cfg.dataDir);
  if (cfg.hubKey) return readSecretKeyFile(cfg.hubKey);
  const path = join(cfg.dataDir, 'hub.key');
  if (existsSync(path)) return readSecretKeyFile(path);
  const pair = generateKeyPair('hub', 'hub');
  writeKeyFiles(cfg.dataDir, 'hub', pair);
  return pair;
}

export function loadTrust(cfg: HubConfig, hubKey: KeyPair, now: Date): { trustDoc: TrustDocument; trust: TrustBody } {
  const stored = join(cfg.dataDir, 'trust.json');
  const source = cfg.trust ?? (existsSync(stored) ? stored : undefined);
  const pub = cfg.hubKey ? `the public half of ${cfg.hubKey}` : join(cfg.dataDir, 'hub.pub');
  if (!source) {
    throw new AppError('CONFIG_INVALID',
      `no trust document: the hub needs a trust.json whose hub role includes its key ${hubKey.keyId.slice(0, 16)}…. ` +
      `Make one with: edgefleet trust init --root ROOT.pub --release RELEASE.pub --hub ${pub} --sign ROOT.key --out trust.json, ` +
      'then start the hub with --trust trust.json');
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(source, 'utf8'));
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `cannot read trust document ${source}: ${(err as Error).message}`);
  }
  let trust = verifyTrustDocument(value, { now });
  // A different trust document given for a hub that already has one must chain from it (root rotation):
  // a higher version signed by a threshold of the stored root keys and of its own. Never a downgrade.
  if (source !== stored && existsSync(stored)) {
    const current = verifyTrustDocument(JSON.parse(readFileSync(stored, 'utf8')), { now: new Date(0) });
    if (canonicalJson(current) !== canonicalJson(trust) || trust.version !== current.version) {
      if (trust.version <= current.version) {
        throw new AppError('TRUST_ROTATION_INVALID',
          `trust document ${source} is version ${trust.version} but this hub already has version ${current.version} (${stored}); ` +
          'expected a higher version made with edgefleet trust rotate');
      }
      trust = verifyTrustRotation(current, value, { now });
    }
  }
  if (!trust.roles.hub.keyIds.includes(hubKey.keyId)) {
    throw new AppError('CONFIG_INVALID',
      `trust document ${source} (version ${trust.version}) does not list the hub key ${hubKey.keyId} in its hub role ` +
      `(hub keys: ${trust.roles.hub.keyIds.map((k) => `${k.slice(0, 12)}…`).join(', ')}); devices would refuse what this hub signs. ` +
      `Make a trust document with --hub ${pub} (edgefleet trust init, or edgefleet trust rotate to add it)`);
  }
  if (source !== stored) writeFileAtomic(stored, `${JSON.stringify(value, null, 2)}\n`);
  return { trustDoc: value as TrustDocument, trust };
}

/** Creates the first admin token when the hub has no API token at all. */
export function ensureAdminToken(cfg: HubConfig, store: Store, now: Date): string | null {
  if (store.tokens.count() > 0) return null;
  const t = store.db.transaction(() => {
    const created = store.tokens.create('admin', 'admin', 'hub', now);
    store.audit.append({ actor: 'hub', action: 'token.create', target: created.id, at: now, details: { name: 'admin', role: 'admin', firstStart: true } });
    return created;
  })();
  writeFileAtomic(join(cfg.dataDir, 'admin.token'), `${t.token}\n`, 0o600);
  return t.token;
}
