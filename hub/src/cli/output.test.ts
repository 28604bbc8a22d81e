// The CLI's text printers escape control characters in every cell and in error lines, so values
// from the hub (reasons, names, messages) cannot move the cursor, recolour, or forge a line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@edgefleet/shared';
import { reportFailure } from '@edgefleet/shared/cli';
import { StringWriter, keyValues, table } from './output.js';

test('table, keyValues and the error line print control characters escaped, one line per row', () => {
  const t = table(['ACTOR', 'REASON'], [['ops#tok_1', '\x1b[31mred\nforged line'], ['x\r', 'ok']]);
  assert.equal(t, 'ACTOR      REASON\nops#tok_1  \\e[31mred\\nforged line\nx\\r        ok\n');
  assert.equal(keyValues([['note\x07', 'a\u202eb']]), 'note\\x07: a\\u202eb\n');
  const err = new StringWriter();
  assert.equal(reportFailure({ stderr: err }, new AppError('NOT_FOUND', 'no device "\x1b]0;pwned\x07\nerror [OK]: fine"')), 1);
  assert.equal(err.text, 'error [NOT_FOUND]: no device "\\e]0;pwned\\x07\\nerror [OK]: fine"\n');
});
