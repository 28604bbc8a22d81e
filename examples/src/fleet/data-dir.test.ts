// The fleet's --data-dir is wiped at start: only a dir the fleet made may be (fleet/data-dir.ts).
// `npm start -- --data-dir DIR` naming a dir of the user's removed everything in it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLEET_MARK, freshFleetDataDir } from './data-dir.js';

it('a data dir holding files the fleet did not make is refused and left as it was; a new, empty or marked one is made fresh', () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-fleet-dir-'));
  try {
    const mine = join(root, 'mine');
    mkdirSync(join(mine, 'sub'), { recursive: true });
    writeFileSync(join(mine, 'sub', 'notes.txt'), 'precious');
    assert.throws(() => freshFleetDataDir(mine), {
      name: 'AppError', code: 'CONFLICT',
      message: new RegExp(`^--data-dir ${mine} holds files the fleet did not make \\(sub\\): expected a new or empty directory, or one an earlier run made \\(it holds ${FLEET_MARK}\\).*nothing was removed$`),
    });
    assert.equal(readFileSync(join(mine, 'sub', 'notes.txt'), 'utf8'), 'precious');
    // A run's own names beside a file of the user's are not a run's dir either.
    mkdirSync(join(mine, 'logs'));
    assert.throws(() => freshFleetDataDir(mine), { code: 'CONFLICT' });
    assert.ok(existsSync(join(mine, 'sub', 'notes.txt')));

    const file = join(root, 'file');
    writeFileSync(file, 'x');
    assert.throws(() => freshFleetDataDir(file), { code: 'CONFLICT', message: /is not a directory/ });
    assert.equal(readFileSync(file, 'utf8'), 'x');

    for (const fresh of [join(root, 'new', 'fleet'), join(root, 'empty')]) {
      if (fresh.endsWith('empty')) mkdirSync(fresh);
      freshFleetDataDir(fresh);
      assert.deepEqual(readdirSync(fresh).sort(), [FLEET_MARK, 'logs']);
    }
    // A marked dir (an earlier run's, kept with --keep-data) is wiped, and one from before the mark too.
    const marked = join(root, 'empty');
    writeFileSync(join(marked, 'logs', 'hub.log'), '{}');
    mkdirSync(join(marked, 'hub'));
    freshFleetDataDir(marked);
    assert.deepEqual(readdirSync(join(marked, 'logs')), []);
    const old = join(root, 'old');
    mkdirSync(join(old, 'logs'), { recursive: true });
    mkdirSync(join(old, 'agents', 'edge-1'), { recursive: true });
    writeFileSync(join(old, 'hub.config.json'), '{}');
    freshFleetDataDir(old);
    assert.deepEqual(readdirSync(old).sort(), [FLEET_MARK, 'logs']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
