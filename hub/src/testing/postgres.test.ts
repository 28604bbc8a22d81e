// The tests' PostgreSQL cluster start (postgres.ts): a start that fails is tried again, and the error
// after the last try names each attempt's failure, not only the last.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from './postgres.js';

describe('startPostgres', () => {
  it('tries a failing start 3 times and names each attempt', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ef-pgbin-'));
    const before = process.env['EDGEFLEET_PG_BIN'];
    try {
      // An initdb that fails, as on a full disk.
      writeFileSync(join(bin, 'initdb'), `#!/bin/sh\necho "no space left" >&2\nexit 3\n`);
      chmodSync(bin, 0o755); // initdb runs as the postgres user when we are root
      chmodSync(join(bin, 'initdb'), 0o755);
      process.env['EDGEFLEET_PG_BIN'] = bin;
      await assert.rejects(startPostgres(), (err: Error) => {
        assert.match(err.message, /did not start in 3 attempts/);
        assert.equal(err.message.match(/attempt \d: initdb failed \(3\): no space left/g)?.length, 3, err.message);
        return true;
      });
    } finally {
      if (before === undefined) delete process.env['EDGEFLEET_PG_BIN'];
      else process.env['EDGEFLEET_PG_BIN'] = before;
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
