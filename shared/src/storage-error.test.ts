import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, storageError } from './errors.js';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

test('storageError names where and the room expected for a refused write, and passes everything else as it is', () => {
  const full = storageError(errno('ENOSPC', 'ENOSPC: no space left on device, write'), 'backup: cannot write it to --out /b', 'room for 10 bytes') as AppError;
  assert.deepEqual([full.code, full.httpStatus, full.message], ['DISK_FULL', 507, 'backup: cannot write it to --out /b: disk full: ENOSPC: no space left on device, write (expected room for 10 bytes)']);
  const sqlite = storageError(errno('SQLITE_FULL', 'database or disk is full'), 'x', () => 'room') as AppError;
  assert.equal(sqlite.message, 'x: disk full: database or disk is full (expected room)');
  const denied = storageError(errno('EACCES', "EACCES: permission denied, open '/b/x'"), 'x', 'a writable directory') as AppError;
  assert.deepEqual([denied.code, denied.message], ['IO_ERROR', "x: EACCES: permission denied, open '/b/x' (expected a writable directory)"]);
  // Ours, and errors that are not the disk's, pass unchanged, without working out `expected`.
  const ours = new AppError('PAYLOAD_TOO_LARGE', 'too big');
  const plain = new Error('boom');
  const never = () => assert.fail('expected is only worked out for a storage error');
  assert.equal(storageError(ours, 'x', never), ours);
  assert.equal(storageError(plain, 'x', never), plain);
});
