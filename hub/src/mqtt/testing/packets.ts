// MQTT 3.1.1 packets as bytes, for tests that must place a packet exactly (a CONNECT read in the same turn as
// another connection's end: late-close tests), where mqtt.js would send on its own schedule. Bodies < 128 bytes.
const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (type: number, body: Buffer): Buffer => {
  if (body.length > 127) throw new Error(`a ${body.length}-byte packet body: these helpers write bodies under 128 bytes`);
  return Buffer.concat([Buffer.from([type, body.length]), body]);
};

/** CONNECT: clean session, username = client id, the password given, no keepalive. */
export const connectPacket = (id: string, password: string): Buffer => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 0]), str(id), str(id), str(password)]));

/** SUBSCRIBE to `topic` at QoS 1 (message id 1). */
export const subscribePacket = (topic: string): Buffer => packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(topic), Buffer.from([1])]));

/** The type (the fixed header's high nibble) of each whole packet in `bytes`, in order; a packet cut short ends the list. */
export function packetTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    let length = 0;
    let i = at + 1;
    for (let shift = 0; ; shift += 7, i++) {
      if (i >= bytes.length || shift > 21) return types;
      const b = bytes[i] as number;
      length += (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    const end = i + 1 + length;
    if (end > bytes.length) return types;
    types.push((bytes[at] as number) >> 4);
    at = end;
  }
  return types;
}
