import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProfileForm, normalizeAddress, suggestName } from './profile-form.js';

test('a valid form becomes the profiles:save request, the address reduced to its origin', () => {
  assert.deepEqual(checkProfileForm({ name: ' prod ', address: ' https://hub.example:8700/#/fleet ', token: ' efa_12345678 ' }), {
    ok: true, value: { name: 'prod', address: 'https://hub.example:8700', token: 'efa_12345678' },
  });
  assert.equal(normalizeAddress('http://127.0.0.1:8700/'), 'http://127.0.0.1:8700');
});

test('each wrong field is named with what was expected', () => {
  const r = checkProfileForm({ name: '', address: 'ftp://hub', token: 'short' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.errors.name ?? '', /expected a profile name/);
  assert.match(r.errors.address ?? '', /expected a hub address/);
  assert.match(r.errors.token ?? '', /8/);
  const creds = checkProfileForm({ name: 'x', address: 'https://user:pw@hub.example', token: 'efa_12345678' });
  assert.equal(creds.ok, false);
  assert.deepEqual(Object.keys(creds.ok ? {} : creds.errors), ['address']);
  const spaced = checkProfileForm({ name: 'x', address: 'https://hub.example', token: 'efa 12345678' });
  assert.match(spaced.ok ? '' : spaced.errors.token ?? '', /without spaces/);
  // A header carries printable ASCII only: main could not send this one to the hub.
  for (const token of ['efa_😀12345678', 'efa_1234\u00e95678', 'efa_1234\t5678']) {
    const r2 = checkProfileForm({ name: 'x', address: 'https://hub.example', token });
    assert.equal(r2.ok ? '' : r2.errors.token, 'expected an API token without spaces, of printable ASCII (efa_… as the hub printed it)', JSON.stringify(token));
  }
  assert.equal(checkProfileForm({ name: 'x'.repeat(65), address: 'https://hub.example', token: 'efa_12345678' }).ok, false);
});

test('a suggested name is a valid profile name', () => {
  assert.equal(suggestName('https://hub.example:8700/x'), 'hub.example-8700');
  assert.equal(suggestName('not a url'), 'hub');
  assert.equal(suggestName('http://[::1]:8700'), '1-8700');
  assert.equal(checkProfileForm({ name: suggestName('http://[::1]:8700'), address: 'http://[::1]:8700', token: 'efa_12345678' }).ok, true);
});
