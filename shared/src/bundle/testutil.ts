// Test helpers for bundles: raw tar building (bypassing our writer's checks) to
// forge hostile archives, and a minimal valid manifest. Used only by tests.
import { writeFileSync } from 'node:fs';
import { BLOCK, makeHeader } from './tar.js';

/** A ustar header with any name and type, checksum fixed up. */
export function rawHeader(name: string, size: number, type = '0'): Buffer {
  const h = makeHeader('x', size);
  h.fill(0, 0, 100);
  h.write(name, 0, 'utf8');
  h.write(type, 156, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** Writes a tar of raw entries (no checks) to `path`. */
export function writeRawTar(path: string, entries: { name: string; data: Uint8Array; type?: string; declaredSize?: number }[]): void {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e.name, e.declaredSize ?? e.data.length, e.type), Buffer.from(e.data));
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  writeFileSync(path, Buffer.concat(parts));
}

export function exampleManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'edgefleet.manifest/v1',
    name: 'vib',
    version: '1.0.0',
    created: '2026-06-01T00:00:00Z',
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0' },
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 1] }] },
    provenance: { data: [], training: { code: 'train.ts' }, metrics: { auc: 0.9 }, reason: 'first version' },
    ...extra,
  };
}
