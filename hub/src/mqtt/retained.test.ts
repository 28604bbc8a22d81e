// Retained messages by exact topic (retained.ts): what aedes' persistence answered before, with an
// exact filter answered by one lookup; over a real embedded broker, a device gets the retained trust
// document and another device's retained presence stays its own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { indexRetained, topicMatches, type RetainedPacket, type RetainedPersistence } from './retained.js';
import { createEmbeddedBroker } from './embedded.js';
import { waitFor } from '@edgefleet/examples';
import { MemoryDevices, RecordingLogger, RecordingMetrics, collect, connectDevice, deviceTopic } from './testing/devices.js';

const never = () => Readable.from([]);
function persistence(): RetainedPersistence {
  return { storeRetained: () => Promise.reject(new Error('replaced')), createRetainedStream: never, createRetainedStreamCombi: never };
}
async function topics(r: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const p of r) out.push((p as RetainedPacket).topic);
  return out.sort();
}
const pkt = (topic: string, payload = 'x'): RetainedPacket => ({ topic, payload: Buffer.from(payload), retain: true });

describe('retained messages by topic', () => {
  it('answers exact and wildcard filters, replaces and clears entries, copies packets', async () => {
    const p = persistence();
    const map = indexRetained(p);
    const orig = pkt('ef/v1/d/a/presence', 'on');
    await p.storeRetained(orig);
    orig.payload = Buffer.from('changed by the broker');
    await p.storeRetained(pkt('ef/v1/d/b/presence'));
    await p.storeRetained(pkt('ef/v1/d/a/state'));
    await new Promise<void>((resolve, reject) => {
      // With a callback (aedes' callback form) nothing is returned.
      assert.equal(p.storeRetained(pkt('ef/v1/trust'), (err) => (err ? reject(err) : resolve())), undefined);
    });
    assert.equal(map.get('ef/v1/d/a/presence')?.payload.toString(), 'on');
    assert.deepEqual(await topics(p.createRetainedStreamCombi(['ef/v1/trust', 'ef/v1/d/a/desired'])), ['ef/v1/trust']);
    assert.deepEqual(await topics(p.createRetainedStream('ef/v1/d/+/presence')), ['ef/v1/d/a/presence', 'ef/v1/d/b/presence']);
    assert.deepEqual(await topics(p.createRetainedStream('ef/v1/d/a/#')), ['ef/v1/d/a/presence', 'ef/v1/d/a/state']);
    await p.storeRetained(pkt('ef/v1/d/a/presence', ''));
    assert.deepEqual(await topics(p.createRetainedStream('#')), ['ef/v1/d/a/state', 'ef/v1/d/b/presence', 'ef/v1/trust']);
    assert.equal(map.size, 3);
  });

  it('matches topic filters as MQTT 3.1.1 section 4.7 says', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b', 'a/b', true], ['a/b', 'a/c', false], ['a/+', 'a/b', true], ['a/+', 'a/b/c', false], ['a/#', 'a', true],
      ['a/#', 'a/b/c', true], ['+/+', 'a/b', true], ['+', '$SYS', false], ['#', '$SYS/x', false], ['$SYS/#', '$SYS/x', true],
      ['a/b/c', 'a/b', false], ['+/b', '/b', true],
    ];
    for (const [f, t, want] of cases) assert.equal(topicMatches(f, t), want, `${f} vs ${t}`);
  });

  it('the embedded broker delivers the retained trust document and keeps presence per device', async () => {
    const devices = new MemoryDevices();
    devices.add('r-1', 's1');
    devices.add('r-2', 's2');
    const link = createEmbeddedBroker({
      tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 16 * 1024, connectRateLimit: { perAddressPerMinute: 1000 },
      devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: { now: () => new Date() },
    });
    await link.start();
    try {
      await link.publishTrust({ trust: 1 });
      const a = await connectDevice(link.address().mqtt, 'r-1', 's1');
      await a.publishAsync(deviceTopic('r-1', 'presence'), '{"online":true}', { qos: 1, retain: true });
      const b = await connectDevice(link.address().mqtt, 'r-2', 's2');
      const got = collect(b);
      await b.subscribeAsync(['ef/v1/trust', deviceTopic('r-2', 'desired')], { qos: 1 });
      await waitFor('retained trust', () => got.length > 0 || undefined);
      assert.deepEqual(got.map((m) => [m.topic, m.payload, m.retain]), [['ef/v1/trust', '{"trust":1}', true]]);
      a.end(true);
      b.end(true);
    } finally {
      await link.stop();
    }
  });
});
