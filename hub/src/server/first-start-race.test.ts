// Hubs starting at the same moment on a new data dir (several hubs sharing one, a restart overlapping the
// old process): each racing hub's creation of DATA/hub.key and DATA/admin.token runs in the middle of
// another's (createFileOnce's beforeCreate hook: after the first found no file, before it makes one), and
// every hub ends with the first one's file: one hub key (hub.pub matching it), one admin token that the
// database holds once and every hub accepts. Also: a token file left by a start stopped before its
// insert is taken by the next start; one that is not a token, or readable by others, is refused. Real
// Stores on one database, SQLite (one hub.db) and PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPublicKeyFile, readSecretKeyFile, type KeyPair } from '@edgefleet/shared';
import { HubConfig } from '../config.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { ADMIN_TOKEN_FILE, ensureAdminToken, HUB_KEY_FILE, HUB_PUB_FILE, loadHubKey } from './first-start.js';

const now = new Date('2026-03-01T00:00:00Z');
const cfg = (dataDir: string) => HubConfig.parse({ dataDir });
const configCodeIn = (re: RegExp) => (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID' && re.test((e as Error).message);

describe('hubs making DATA/hub.key at the same moment', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-first-start-key-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('all take the first one\'s key; hub.pub matches it; no temp file is left', async () => {
    const data = join(dir, 'data');
    const inner: Array<Promise<KeyPair>> = [];
    // Three hubs: each finds no hub.key, and before it makes one the next one makes its own.
    const nested = (depth: number): Promise<KeyPair> => loadHubKey(cfg(data), depth < 2 ? { beforeCreate: () => { inner.push(nested(depth + 1)); } } : {});
    const outer = await nested(0);
    const all = [outer, ...(await Promise.all(inner))];
    assert.equal(all.length, 3);
    const onDisk = await readSecretKeyFile(join(data, HUB_KEY_FILE));
    for (const k of all) assert.equal(k.keyId, onDisk.keyId);
    assert.equal((await readPublicKeyFile(join(data, HUB_PUB_FILE))).keyId, onDisk.keyId);
    assert.equal(statSync(join(data, HUB_KEY_FILE)).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(data).sort(), [HUB_KEY_FILE, HUB_PUB_FILE]);
  });

  it('a data dir with a trust document but no hub.key (it ran with --hub-key) is refused, and no key is made', async () => {
    const data = join(dir, 'ran-with-hub-key');
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, 'trust.json'), '{}');
    await assert.rejects(loadHubKey(cfg(data)), (err: { code?: string; message?: string }) => err.code === 'CONFIG_INVALID'
      && err.message === `data dir ${data} holds this hub's trust document but no hub.key: it ran with --hub-key FILE. Expected --hub-key FILE again (the key its trust document lists), or that key copied to ${join(data, HUB_KEY_FILE)} (mode 0600); no new key was made`);
    assert.deepEqual(readdirSync(data), ['trust.json']);
  });

  it('a hub.pub that is missing or does not match hub.key is written again from it', async () => {
    const data = join(dir, 'data');
    const key = await loadHubKey(cfg(data));
    rmSync(join(data, HUB_PUB_FILE));
    assert.equal((await loadHubKey(cfg(data))).keyId, key.keyId);
    assert.equal((await readPublicKeyFile(join(data, HUB_PUB_FILE))).keyId, key.keyId);
    const other = join(dir, 'other');
    await loadHubKey(cfg(other));
    writeFileSync(join(data, HUB_PUB_FILE), readFileSync(join(other, HUB_PUB_FILE)));
    await loadHubKey(cfg(data));
    assert.equal((await readPublicKeyFile(join(data, HUB_PUB_FILE))).keyId, key.keyId);
  });
});

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('hubs making the first admin token at the same moment', () => {
  let dir: string;
  const stores: Store[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-first-start-token-')); });
  after(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `n` stores on one new database: hub.db in `dataDirs[0]` on SQLite. */
  const open = (dataDirs: string[]): Store[] => {
    const database = backend.database() ?? join(dataDirs[0]!, 'hub.db');
    const opened = dataDirs.map((d) => Store.open(d, HUB_MIGRATIONS, { database, shared: true }));
    stores.push(...opened);
    return opened;
  };

  it('on one data dir: every hub takes the first one\'s file, the database holds it once, one hub reports it new', () => {
    const data = join(dir, 'shared');
    const [a, b, c] = open([data, data, data]) as [Store, Store, Store];
    const got: Array<string | null> = [];
    // Hub a finds no file; b makes it and stores it; c then finds the token stored; a reads b's file.
    got.push(ensureAdminToken(cfg(data), a, now, {
      beforeCreate: () => {
        got.push(ensureAdminToken(cfg(data), b, now));
        got.push(ensureAdminToken(cfg(data), c, now));
      },
    }));
    const token = readFileSync(join(data, ADMIN_TOKEN_FILE), 'utf8').trim();
    assert.deepEqual(got, [token, null, null], 'the hub that stored it reports it (printed once)');
    for (const s of [a, b, c]) assert.equal(s.tokens.lookup(token)?.role, 'admin');
    assert.deepEqual(a.tokens.list().tokens.map((t) => t.name), ['admin']);
    assert.equal(a.audit.query({ action: 'token.create', limit: 10 }).length, 1);
    assert.equal(statSync(join(data, ADMIN_TOKEN_FILE)).mode & 0o777, 0o600);
    assert.equal(ensureAdminToken(cfg(data), a, now), null, 'not the first start any more');
    assert.equal(readFileSync(join(data, ADMIN_TOKEN_FILE), 'utf8').trim(), token);
  });

  it('with data dirs of their own: the first hub\'s token is stored; the other removes its file, whose token never works', () => {
    const [d1, d2] = [join(dir, 'own-1'), join(dir, 'own-2')];
    const [s1, s2] = open([d1, d2]) as [Store, Store];
    let second: string | null = 'not run';
    const first = ensureAdminToken(cfg(d1), s1, now, { beforeCreate: () => { second = ensureAdminToken(cfg(d2), s2, now); } });
    assert.equal(first, null);
    assert.equal(second, readFileSync(join(d2, ADMIN_TOKEN_FILE), 'utf8').trim());
    assert.equal(existsSync(join(d1, ADMIN_TOKEN_FILE)), false);
    assert.deepEqual(s1.tokens.list().tokens.map((t) => t.name), ['admin']);
  });

  it('takes the token of a file left by a start stopped before its insert; refuses one that is not a token or readable by others', () => {
    const data = join(dir, 'left');
    const [s] = open([data]) as [Store];
    const path = join(data, ADMIN_TOKEN_FILE);
    writeFileSync(path, 'not a token\n', { mode: 0o600 });
    assert.throws(() => ensureAdminToken(cfg(data), s, now), configCodeIn(/does not hold an admin token.*remove the file/));
    const left = `efa_${'A'.repeat(43)}`;
    writeFileSync(path, `${left}\n`);
    chmodSync(path, 0o644);
    assert.throws(() => ensureAdminToken(cfg(data), s, now), configCodeIn(/has mode 0644; expected 0600.*chmod 600/));
    assert.equal(s.tokens.count(), 0);
    chmodSync(path, 0o600);
    assert.equal(ensureAdminToken(cfg(data), s, now), left);
    assert.equal(s.tokens.lookup(left)?.name, 'admin');
    assert.equal(readFileSync(path, 'utf8'), `${left}\n`);
  });
});
}
