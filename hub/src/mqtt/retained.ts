// Retained messages of the embedded broker, looked up by exact topic. aedes' memory persistence
// answers every SUBSCRIBE by testing each retained topic against the filters, and every device
// retains its presence and state, so a fleet connecting cost O(devices²): 10,000 devices spent
// most of a reconnect storm matching topics (docs/performance.md). Devices may only subscribe to
// exact topics (acl.ts), so the hub keeps retained packets in its own map and answers an exact
// filter with one get; a wildcard filter (the hub's ACL refuses them, other clients of the
// persistence may not) still scans. Same entries as aedes kept, so no memory is added.
import { Readable } from 'node:stream';

/** A retained packet as aedes hands it to its persistence. */
export interface RetainedPacket {
  topic: string;
  payload: Buffer;
  [k: string]: unknown;
}

/** The part of aedes' persistence (callback/promise hybrid) that handles retained messages. */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket, cb?: (err: Error | null) => void): Promise<void> | void;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/** MQTT 3.1.1 section 4.7 topic filter matching; wildcards at the start do not match `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Replaces the retained-message part of `persistence` with a map by topic; returns that map (for tests). */
export function indexRetained(persistence: RetainedPersistence): ReadonlyMap<string, RetainedPacket> {
  const byTopic = new Map<string, RetainedPacket>();
  function* lookup(patterns: readonly string[]): Generator<RetainedPacket> {
    for (const p of patterns) {
      if (!p.includes('+') && !p.includes('#')) {
        const hit = byTopic.get(p);
        if (hit) yield hit;
        continue;
      }
      for (const [topic, packet] of byTopic) if (topicMatches(p, topic)) yield packet;
    }
  }
  persistence.storeRetained = (packet, cb) => {
    // A copy, as aedes-persistence stores it: the broker reuses its packet objects.
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
    if (cb) {
      process.nextTick(cb, null);
      return;
    }
    return Promise.resolve();
  };
  persistence.createRetainedStream = (pattern) => Readable.from(lookup([pattern]));
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(lookup(patterns));
  return byTopic;
}
