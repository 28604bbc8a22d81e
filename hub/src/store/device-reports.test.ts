// A reported state under several hubs (device-reports.ts, docs/hub.md "Several hubs"): with `newerOnly`,
// a state the box made before the stored one (by its clock, less than 10 min before) is not applied; a
// newer one is, and so is one from a box whose clock stepped back further. Without it, every state is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportedState, STATE_SCHEMA } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';

const state = (at: string, seq: number) => ReportedState.parse({
  schema: STATE_SCHEMA, deviceId: 'box-1', at, agentVersion: '0.1.0', lastAppliedSeq: seq, trustVersion: 1, models: [],
});

test('newerOnly: an older state within 10 min is not applied; a newer one, or one past a clock stepped back further, is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-reports-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    store.devices.create('box-1', 'secret-box-1-0123456789abcdef', {}, null, new Date('2026-12-05T12:00:00Z'));
    const newerOnly = { newerOnly: true };
    assert.equal(store.devices.setReported('box-1', state('2026-12-05T12:00:00.000Z', 5), newerOnly), true);
    assert.equal(store.devices.setReported('box-1', state('2026-12-05T11:55:00.000Z', 4), newerOnly), false, '5 min older: stale');
    assert.equal(store.devices.reportedSeq('box-1'), 5);
    assert.equal(store.devices.setReported('box-1', state('2026-12-05T12:01:00.000Z', 6), newerOnly), true);
    assert.equal(store.devices.setReported('box-1', state('2026-12-05T11:00:00.000Z', 7), newerOnly), true, 'an hour back: the clock stepped');
    assert.equal(store.devices.reportedSeq('box-1'), 7);
    assert.equal(store.devices.setReported('box-1', state('2026-12-05T10:59:00.000Z', 8)), true, 'without newerOnly every state is applied');
    assert.equal(store.devices.reportedSeq('box-1'), 8);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state reports prepare their statements once, not at each report (the search text\'s included), and keep the search text right', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-reports-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    store.devices.create('box-1', 'secret-box-1-0123456789abcdef', {}, null, new Date('2026-12-05T12:00:00Z'));
    const withModel = (seq: number, version: string) => ReportedState.parse({ ...state(`2026-12-05T12:00:${String(seq).padStart(2, '0')}.000Z`, seq), models: [{ name: 'm', active: version, installed: [version], status: 'active' }] });
    store.devices.setReported('box-1', withModel(1, '1.0.0'));
    const db = store.db as unknown as { prepare(sql: string): unknown };
    const real = db.prepare.bind(db);
    const prepared: string[] = [];
    db.prepare = (sql: string) => {
      prepared.push(sql);
      return real(sql);
    };
    for (let i = 2; i < 22; i++) store.devices.setReported('box-1', withModel(i, i % 2 ? '1.0.0' : '2.0.0'));
    assert.ok(prepared.length <= 2, `20 state reports prepared ${prepared.length} statements: ${prepared.map((s) => s.slice(0, 50)).join('; ')}`);
    assert.equal(store.devices.page({ limit: 10, q: 'm@2.0.0' }).devices.length, 0, 'the last report holds 1.0.0: the search text follows it');
    assert.equal(store.devices.page({ limit: 10, q: 'm@1.0.0' }).devices.length, 1);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
