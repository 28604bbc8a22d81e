// escapeText: control characters from reasons, notes and messages print as visible escapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLines, escapeText } from './text.js';

test('escapeText makes terminal escapes, newlines and bidi overrides visible and leaves text alone', () => {
  assert.equal(escapeText('\x1b[31mred\x1b[0m\nforged line'), '\\e[31mred\\e[0m\\nforged line');
  assert.equal(escapeText('a\rb\tc\x07d\x7fe\x9bf'), 'a\\rb\\tc\\x07d\\x7fe\\x9bf');
  assert.equal(escapeText('evil\u202etxt.exe\u2028x'), 'evil\\u202etxt.exe\\u2028x');
  assert.equal(escapeText('plain reason: café, 日本, C:\\path'), 'plain reason: café, 日本, C:\\path');
  const all = escapeText(String.fromCharCode(...Array.from({ length: 160 }, (_, i) => i)));
  for (const ch of all) assert.ok(ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f, `control character ${ch.charCodeAt(0)} left in the output`);
});

test('escapeLines keeps the text\'s own line breaks and escapes everything else', () => {
  assert.equal(escapeLines('one\x1b[2J\ntwo\r\n'), 'one\\e[2J\ntwo\\r\n');
});
