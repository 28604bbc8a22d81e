// The hub's start says, in its log, each migration it applies to a database that had some already (an upgrade: a
// big hub.db takes a while), one line a step (docs/cli.md "Progress"); a new database's migrations are not news.
// Real hub.db files: one made by the migrations but the last two, then opened with all of them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from './index.js';

describe('migration log', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-migration-log-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('logs each migration of an upgrade before applying it, and none for a new hub.db', () => {
    const lines: Array<{ o: object; msg: string }> = [];
    const logger = { info: (o: object, msg: string) => lines.push({ o, msg }), warn: () => undefined, error: () => undefined };
    Store.open(join(dir, 'hub'), HUB_MIGRATIONS.slice(0, -2), { logger }).close();
    assert.deepEqual(lines.filter((l) => /migration/.test(l.msg)), [], 'a new hub.db: its migrations are its making');
    Store.open(join(dir, 'hub'), HUB_MIGRATIONS, { logger }).close();
    const [a, b] = HUB_MIGRATIONS.slice(-2).sort((x, y) => x.version - y.version);
    assert.deepEqual(lines.filter((l) => /migration/.test(l.msg)), [
      { o: { migration: a?.version, name: a?.name, step: 1, of: 2 }, msg: `applying migration ${a?.version} (${a?.name}), 1 of 2: the hub starts once they are applied` },
      { o: { migration: b?.version, name: b?.name, step: 2, of: 2 }, msg: `applying migration ${b?.version} (${b?.name}), 2 of 2: the hub starts once they are applied` },
    ]);
  });
});
