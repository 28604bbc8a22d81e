import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatTags, parseTags } from './tag-text.js';

test('plain tags read and write as key=value separated by spaces or commas', () => {
  assert.deepEqual(parseTags('site=north ring=canary'), { site: 'north', ring: 'canary' });
  assert.deepEqual(parseTags(' site=north,ring=canary ,  env=prod '), { site: 'north', ring: 'canary', env: 'prod' });
  assert.deepEqual(parseTags('expr=a=b empty='), { expr: 'a=b', empty: '' });
  assert.deepEqual(parseTags(''), {});
  assert.equal(formatTags({ site: 'north', ring: 'canary' }), 'site=north ring=canary');
});

test('values with spaces, commas, quotes or nothing at all are quoted and survive a round trip', () => {
  const tags = { loc: 'a,zone=x', note: 'hello world', q: 'say "hi"', back: 'c:\\tmp', empty: '', uni: 'Zürich 東京' };
  const text = formatTags(tags);
  assert.equal(text, 'loc="a,zone=x" note="hello world" q="say \\"hi\\"" back="c:\\\\tmp" empty="" uni="Zürich 東京"');
  assert.deepEqual(parseTags(text), tags);
  // An operator appends a tag to the prefilled text, as the device page's "Set tags" does.
  assert.deepEqual(parseTags(`${text} ring=canary`), { ...tags, ring: 'canary' });
});

test('any tag values round-trip (property)', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/);
  fc.assert(fc.property(fc.dictionary(key, fc.string({ maxLength: 40 })), (tags) => {
    assert.deepEqual(parseTags(formatTags(tags)), { ...tags }); // fast-check makes null-prototype objects
  }));
});

test('what cannot be read is refused with the part that is wrong and what was expected', () => {
  assert.throws(() => parseTags('site=north canary'), /tag "canary": expected key=value/);
  assert.throws(() => parseTags('=north'), /the key is empty/);
  assert.throws(() => parseTags('note="hello world'), /tag "note": the quote opened at "hello world… is not closed/);
  assert.throws(() => parseTags('note="a"b'), /tag "note": expected a space or comma after the closing quote, got "b"/);
  assert.throws(() => parseTags('note=a"b'), /a quote may only open a value/);
  assert.throws(() => parseTags('site=a site=b'), /tag "site" is given twice/);
  assert.throws(() => parseTags('x="\\q"'), /not a valid quoted value/);
});
