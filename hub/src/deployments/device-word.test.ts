// Numbers a device reports that drive the hub's deployments are checked before they are used (docs/hub.md
// "What the hub accepts from devices"), end to end on the environment of testing.ts (real Store, the
// embedded aedes broker on 127.0.0.1:0, mqtt.js devices): a device reporting a desired seq above the
// hub's own gets one reissue per AHEAD_REISSUE_EVERY_MS (a restored hub's device still converges), and a
// deployment progress outside 0..1 reaches neither the device's row nor the live stream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Deployment, StreamEventSchemas, deviceTopic, type StreamEventMap } from '@edgefleet/shared';
import { waitFor } from '@edgefleet/examples';
import { stateMsg } from '../mqtt/testing/devices.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { addDevice, cleanup, device, event, prepare, startHub, verified, type TestHub } from './testing.js';
import { AHEAD_REISSUE_EVERY_MS } from './ahead.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;

before(prepare);
after(cleanup);

type Device = Awaited<ReturnType<typeof device>>;

/** Sends events and waits for their ack: every message the device sent before them has been handled too. */
async function sendEvents(d: Device, id: string, events: unknown[] | string): Promise<void> {
  const n = d.acks().length;
  const body = typeof events === 'string' ? events : JSON.stringify(events);
  await d.c.publishAsync(deviceTopic(id, 'events'), `{"schema":"edgefleet.events/v1","deviceId":"${id}","events":${body}}`, { qos: 1 });
  await waitFor(`ack for ${id}`, () => d.acks().length === n + 1 || undefined);
}

/** The seqs of the device's stored desired documents (rows of desired_documents). */
function storedSeqs(h: TestHub, id: string): number[] {
  return (h.store.db.prepare('SELECT seq FROM desired_documents WHERE device_id = ? ORDER BY seq').all(id) as Array<{ seq: number }>).map((r) => Number(r.seq));
}

forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('a device reporting a desired seq above the hub\'s', () => {
  it('gets one reissue per interval: a flood of reports ahead stores, signs and publishes nothing more', async () => {
    const h = await startHub({ database: backend.database() });
    try {
      addDevice(h, 'a-1');
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['a-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 'a-1');
      await waitFor('the first document', () => d.desired().length === 1 || undefined);
      const report = (applied: number) => d.c.publishAsync(deviceTopic('a-1', 'state'), stateMsg('a-1', applied), { qos: 1 });

      // A hub restored from an older backup: the device applied seq 7. It gets its document above it.
      await report(7);
      const doc = await waitFor('a document above seq 7', () => d.desired().find((x) => x.signed.seq === 8));
      assert.deepEqual(verified(doc).models.map((m) => `${m.name}@${m.version}`), ['audio-energy@1.0.0']);
      // It applies it: not ahead any more, nor with the value it reported before.
      await report(8);
      await report(7);

      // A device that keeps reporting one above the hub's last document (.scratch/audit-hub-ingest/ahead-loop.ts),
      // and one far above it (a stolen key's document, decision 0011).
      for (let i = 0; i < 20; i++) await report(9 + 2 * i);
      for (let i = 0; i < 5; i++) await report(8 + 2_000_000 + i);
      await sendEvents(d, 'a-1', [event(1, 'download_started', '1.0.0')]);
      assert.deepEqual(storedSeqs(h, 'a-1'), [1, 8], 'no document signed or stored for the flood');
      assert.deepEqual(d.desired().map((x) => x.signed.seq), [1, 8], 'none published');
      assert.deepEqual(h.parts.deployments.aheadCounts('a-1'), { reissued: 1, refused: { too_soon: 20, far_ahead: 5 } });
      const warned = h.logger.lines.filter((l) => l.level === 'warn' && /desired (seq|document)/.test(l.msg ?? ''));
      assert.deepEqual(warned.map((l) => (l.obj as { reason?: string }).reason ?? 'reissue'), ['reissue', 'too_soon'], 'the reissue and one refusal logged');

      // Within the interval still refused; once it has passed, one more reissue (a second restore must converge too).
      h.clock.advance(AHEAD_REISSUE_EVERY_MS - 1);
      await report(60);
      await sendEvents(d, 'a-1', [event(2, 'download_progress', '1.0.0')]);
      assert.deepEqual(storedSeqs(h, 'a-1'), [1, 8]);
      h.clock.advance(1);
      await report(60);
      await waitFor('a document above seq 60', () => d.desired().find((x) => x.signed.seq === 61));
      for (let i = 0; i < 10; i++) await report(62 + 2 * i);
      await sendEvents(d, 'a-1', [event(3, 'download_progress', '1.0.0')]);
      assert.deepEqual(storedSeqs(h, 'a-1'), [1, 8, 61]);
      assert.deepEqual(h.parts.deployments.aheadCounts('a-1'), { reissued: 2, refused: { too_soon: 31, far_ahead: 5 } });
      const refusalLogs = h.logger.lines.filter((l) => /desired seq/.test(l.msg ?? ''));
      assert.deepEqual(refusalLogs.map((l) => (l.obj as { alsoRefusedSinceLastLog: number }).alsoRefusedSinceLastLog), [0, 25], 'logged once per interval, with the number refused since');
    } finally {
      await h.close();
    }
  });
});

describe('deployment progress from a device', () => {
  it('is used only when it is a number within 0..1: -5, 1e308, 1e309 (Infinity) and 1.5 are ignored', async () => {
    const h = await startHub({ database: backend.database() });
    const changes: Array<StreamEventMap['deployment.progress']> = [];
    const unsubscribe = h.store.deployments.onStatus((c) => changes.push(c));
    try {
      addDevice(h, 'p-1');
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { devices: ['p-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 'p-1');
      const row = () => {
        const got = h.store.deployments.get(dep.id).devices[0];
        return [got?.status, got?.progress];
      };
      const progress = (seq: number, kind: string, value: unknown) => JSON.stringify([event(seq, kind, '2.0.0', { data: { progress: value } })]);

      await sendEvents(d, 'p-1', progress(1, 'download_progress', 0.4));
      assert.deepEqual(row(), ['downloading', 0.4]);
      await sendEvents(d, 'p-1', progress(2, 'download_progress', -5));
      assert.deepEqual(row(), ['downloading', null]);
      await sendEvents(d, 'p-1', progress(3, 'download_progress', 1e308));
      assert.deepEqual(row(), ['downloading', null]);
      // JSON has no Infinity; 1e309 parses to it.
      await sendEvents(d, 'p-1', progress(4, 'download_progress', 0.5).replace('0.5', '1e309'));
      assert.deepEqual(row(), ['downloading', null]);
      await sendEvents(d, 'p-1', progress(5, 'download_progress', 1.5));
      assert.deepEqual(row(), ['downloading', null]);
      await sendEvents(d, 'p-1', progress(6, 'download_progress', 1));
      assert.deepEqual(row(), ['downloading', 1]);
      await sendEvents(d, 'p-1', progress(7, 'activated', -1));
      assert.deepEqual(row(), ['active', 1], 'an activation with a bad progress is complete all the same');

      assert.deepEqual(changes.map((c) => c.progress), [0.4, null, 1, 1]);
      // What GET /deployments/{id} answers and the live stream sends meet their schemas.
      Deployment.parse(h.store.deployments.get(dep.id));
      for (const c of changes) StreamEventSchemas['deployment.progress'].parse(c);
    } finally {
      unsubscribe();
      await h.close();
    }
  });
});
}
