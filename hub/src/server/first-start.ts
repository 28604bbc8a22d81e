// What the hub needs before it serves: its signing key (created on first start
// unless --hub-key is given), the trust document (copied into DATA/trust.json,
// whose hub role must include the hub key), and an admin token written once to
// DATA/admin.token (mode 0600). A data dir that holds an unfinished restore, and a trust document that
// does not list the hub key, are refused before any of that is created (start-checks.ts; docs/operations.md
// "Backup and restore", docs/decisions/0162-hub-start-refuses-before-it-creates.md). The secrets made here are made with
// createFileOnce (sealing/file-once.ts), never replacing a file: hubs starting at the same moment on a
// new data dir all end with the same hub key and admin token, the first one's.
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppError, TRUST_CHAIN_MAX, canonicalJson, ensurePrivateDir, fileReadError, generateKeyPair, readSecretKeyFile, refuseSecretOpenToOthers, toPublicKeyFile, toSecretKeyFile, verifyTrustDocument, verifyTrustRotation, writeFileAtomic,
  type KeyPair, type TrustBody, type TrustDocument,
} from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import type { Store } from '../store/index.js';
import { randomSecret } from '../store/secrets.js';
import { createFileOnce, type CreateOnceOptions } from '../sealing/file-once.js';
import { unfinishedRestore } from './backup.js';

export const HUB_KEY_FILE = 'hub.key';
export const HUB_PUB_FILE = 'hub.pub';
export const ADMIN_TOKEN_FILE = 'admin.token';

/** createFileOnce's hooks, for tests: `beforeCreate` (where a racing hub makes the file first) and `link`. */
export type FirstStartHooks = Pick<CreateOnceOptions, 'beforeCreate' | 'link'>;

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

/**
 * A mistyped --trust or --hub-key is named before anything is made in the data dir (hub.db, a new
 * hub.key that its trust document would then not list).
 */
export function refuseUnreadableFiles(cfg: HubConfig): void {
  for (const [file, what] of [[cfg.trust, 'trust document (--trust)'], [cfg.hubKey, 'hub key (--hub-key)']] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
      if (statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (err) {
      throw fileReadError(err, what, file);
    }
  }
  if (cfg.hubKey !== undefined) refuseSecretOpenToOthers(cfg.hubKey, "the hub's signing key");
}

/**
 * A data dir with a trust document but no hub.key ran with --hub-key (or was restored from a backup of
 * such a hub): a key made now would not be in its trust document, and devices would refuse what it signs.
 */
export function refuseTrustWithoutKey(cfg: HubConfig): void {
  const path = join(cfg.dataDir, HUB_KEY_FILE);
  if (cfg.hubKey !== undefined || existsSync(path) || !existsSync(join(cfg.dataDir, 'trust.json'))) return;
  throw new AppError('CONFIG_INVALID',
    `data dir ${cfg.dataDir} holds this hub's trust document but no ${HUB_KEY_FILE}: it ran with --hub-key FILE. ` +
    `Expected --hub-key FILE again (the key its trust document lists), or that key copied to ${path} (mode 0600); no new key was made`);
}

/**
 * --hub-key's file, or DATA/hub.key, made when there is none (createFileOnce: of hubs starting at the same
 * moment every one takes the first's). DATA/hub.pub, what the operator puts in the trust document, is
 * written from the hub.key on disk whenever it is missing or differs, so it always matches.
 */
export async function loadHubKey(cfg: HubConfig, hooks: FirstStartHooks = {}): Promise<KeyPair> {
  // prepare.ts refuses it before it opens the store; checked here too for any other caller.
  refuseUnfinishedRestore(cfg.dataDir);
  if (cfg.hubKey) {
    refuseSecretOpenToOthers(cfg.hubKey, "the hub's signing key");
    return readSecretKeyFile(cfg.hubKey);
  }
  ensurePrivateDir(cfg.dataDir);
  const path = join(cfg.dataDir, HUB_KEY_FILE);
  refuseTrustWithoutKey(cfg);
  createFileOnce(path, () => `${JSON.stringify(toSecretKeyFile(generateKeyPair('hub', 'hub')), null, 2)}\n`, hooks);
  refuseSecretOpenToOthers(path, "the hub's signing key");
  const pair = await readSecretKeyFile(path);
  const pub = join(cfg.dataDir, HUB_PUB_FILE);
  const pubText = `${JSON.stringify(toPublicKeyFile(pair), null, 2)}\n`;
  if (!existsSync(pub) || readFileSync(pub, 'utf8') !== pubText) writeFileAtomic(pub, pubText);
  return pair;
}

/** The trust documents this hub held before its current one, oldest first (docs/hub.md "Trust rotation"). */
export const TRUST_CHAIN_FILE = 'trust-chain.json';

function readChain(path: string): TrustDocument[] {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(v) ? (v as TrustDocument[]) : [];
  } catch {
    return [];
  }
}

/** The trust document the hub starts with: --trust, else DATA/trust.json when there is one. */
export function trustSource(cfg: HubConfig): string | undefined {
  const stored = join(cfg.dataDir, 'trust.json');
  return cfg.trust ?? (existsSync(stored) ? stored : undefined);
}

interface CheckedTrust {
  source: string;
  stored: string;
  value: unknown;
  trust: TrustBody;
}

/**
 * The trust document read and verified (signatures, expiry, a rotation from the stored one) and its hub role
 * checked to list `hubKey`; nothing is written. `hubKey` null: the data dir has no hub key yet, so the one the
 * hub would make cannot be listed (start-checks.ts refuses it before anything is created).
 */
export function checkTrust(cfg: HubConfig, hubKey: KeyPair | null, now: Date): CheckedTrust {
  const stored = join(cfg.dataDir, 'trust.json');
  const source = trustSource(cfg);
  const pub = cfg.hubKey ? `the public half of ${cfg.hubKey}` : join(cfg.dataDir, 'hub.pub');
  if (!source) {
    throw new AppError('CONFIG_INVALID',
      `no trust document: the hub needs a trust.json whose hub role includes its key ${hubKey ? `${hubKey.keyId.slice(0, 16)}…` : `(${pub})`}. ` +
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
        // Typically a unit or config file still naming the document from before a rotation given by hand
        // (docs/operations.md "Keys"): say which document the hub keeps and how to name it.
        const what = trust.version < current.version
          ? `is version ${trust.version}, older than the version ${current.version} this hub already has (${stored}, from an earlier --trust); a hub never goes back to an older trust document`
          : `is version ${trust.version}, as is the one this hub already has (${stored}), but differs from it`;
        throw new AppError('TRUST_ROTATION_INVALID',
          `trust document ${source} ${what}. Expected --trust naming the document the hub has (cp ${stored} ${source}), or none ` +
          `(the stored one is used), or version ${current.version + 1} made with edgefleet trust rotate --from ${stored}`);
      }
      trust = verifyTrustRotation(current, value, { now });
    }
  }
  const listed = trust.roles.hub.keyIds.map((k) => `${k.slice(0, 12)}…`).join(', ');
  if (!hubKey) {
    throw new AppError('CONFIG_INVALID',
      `trust document ${source} (version ${trust.version}) cannot list this hub's key: there is no --hub-key and no ${join(cfg.dataDir, HUB_KEY_FILE)}, ` +
      `so the hub would make a new key, which no trust document lists yet (hub keys: ${listed}); nothing was made in ${cfg.dataDir}. ` +
      `Expected --hub-key FILE naming a key it lists, or start once without --trust (the hub makes ${join(cfg.dataDir, HUB_KEY_FILE)} and ${pub}), ` +
      `then make a trust document with --hub ${pub} (edgefleet trust init, or edgefleet trust rotate to add it)`);
  }
  if (!trust.roles.hub.keyIds.includes(hubKey.keyId)) {
    throw new AppError('CONFIG_INVALID',
      `trust document ${source} (version ${trust.version}) does not list the hub key ${hubKey.keyId} in its hub role ` +
      `(hub keys: ${listed}); devices would refuse what this hub signs. ` +
      `Make a trust document with --hub ${pub} (edgefleet trust init, or edgefleet trust rotate to add it)`);
  }
  return { source, stored, value, trust };
}

/**
 * The hub's trust document (checkTrust), stored as DATA/trust.json when it came from --trust, and `chain`:
 * the versions it held before (DATA/trust-chain.json, at most TRUST_CHAIN_MAX, oldest first), published with
 * it so that an agent offline through several root rotations can verify each step.
 */
export function loadTrust(cfg: HubConfig, hubKey: KeyPair, now: Date): { trustDoc: TrustDocument; trust: TrustBody; chain: TrustDocument[] } {
  const { source, stored, value, trust } = checkTrust(cfg, hubKey, now);
  const chainPath = join(cfg.dataDir, TRUST_CHAIN_FILE);
  let chain = readChain(chainPath);
  if (source !== stored) {
    if (existsSync(stored)) {
      const before = JSON.parse(readFileSync(stored, 'utf8')) as TrustDocument;
      if (before.signed.version < trust.version) {
        chain = [...chain.filter((c) => c?.signed?.version < before.signed.version), before].slice(-TRUST_CHAIN_MAX);
        writeFileAtomic(chainPath, `${JSON.stringify(chain, null, 2)}\n`);
      }
    }
    writeFileAtomic(stored, `${JSON.stringify(value, null, 2)}\n`);
  }
  return { trustDoc: value as TrustDocument, trust, chain };
}

/**
 * Creates the first admin token when the hub has no API token at all, and returns it (else null). The
 * token is the one in DATA/admin.token, made first (createFileOnce) and then taken by the database once:
 * hubs starting at the same moment on a new data dir all read the first one's file, and the one insert
 * that finds the table empty stores it (the others find it there). A start stopped between the two
 * leaves a file whose token the next start stores.
 */
export function ensureAdminToken(cfg: HubConfig, store: Store, now: Date, hooks: FirstStartHooks = {}): string | null {
  if (store.tokens.count() > 0) return null;
  const path = join(cfg.dataDir, ADMIN_TOKEN_FILE);
  const file = createFileOnce(path, () => `efa_${randomSecret()}\n`, hooks);
  const token = file.data.toString('utf8').trim();
  if (!/^efa_[A-Za-z0-9_-]{32,}$/.test(token)) {
    throw new AppError('CONFIG_INVALID', `${path} does not hold an admin token (efa_ and at least 32 base64url characters); the hub has no API token yet: remove the file and start again`);
  }
  if (!file.made) refuseSecretOpenToOthers(path, 'the token about to become the admin token', ', or remove it for a new one');
  const created = store.db.transaction(() => {
    const id = store.tokens.createFirstAdmin(token, now);
    if (id) store.audit.append({ actor: 'hub', action: 'token.create', target: id, at: now, details: { name: 'admin', role: 'admin', firstStart: true } });
    return id !== null;
  })();
  if (created) return token;
  // A hub on this database with a data dir of its own stored its token first: this file's never works.
  if (file.made && !store.tokens.lookup(token)) rmSync(path, { force: true });
  return null;
}

/**
 * What `edgefleet-hub run` prints about the admin token: the new one, once; nothing when DATA/admin.token
 * holds one; else why there is none here (a hub with another data dir made the database's first token
 * on PostgreSQL, or the file was removed), and how to get one.
 */
export function adminTokenLine(dataDir: string, newToken: string | null): string | null {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (newToken) return `admin token (shown once, saved in ${path}): ${newToken}`;
  if (existsSync(path)) return null;
  return `no admin token in ${path}: the hub's database already has API tokens (made by a hub with another data dir, or this file was removed), and none is made here; use an admin token you have (the first hub's DATA/admin.token), or have an admin make one: edgefleet tokens create NAME --role admin`;
}
