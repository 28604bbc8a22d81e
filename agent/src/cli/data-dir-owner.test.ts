// A command that only reads (status, models) on another user's 0700 data dir, as an operator's shell
// reads the service's /var/lib/edgefleet-agent: it said "holds no agent.db: expected an agent's data
// dir", since nothing in the dir can be seen; it names the dir's owner and what to do (cli/common.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/agent-store.js';

const bin = fileURLToPath(new URL('../../bin/edgefleet-agent.js', import.meta.url));

test('status and models on another user\'s data dir name its owner, not a missing agent.db', { skip: process.getuid?.() !== 0 && 'needs root, to run a command as another user' }, (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ef-owner-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755); // others may reach the dir, not look inside it
  const dir = join(root, 'data');
  openStore(dir).db.close(); // root's agent.db in root's 0700 dir, as the service's
  for (const command of ['status', 'models']) {
    const r = spawnSync(process.execPath, [bin, command, '--data-dir', dir], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: root, timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /holds no agent\.db/);
    assert.match(r.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: data directory ${dir} belongs to uid 0 \\(mode 0700\\) and this process, uid 65534, may not read it: expected .*run as uid 0 \\(the service's user, e\\.g\\. sudo -u\\)`), command);
  }
});
