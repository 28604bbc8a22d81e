// Test fixtures for the summaries and batch tests: a real SQLite file in a temp
// dir with the summaries tables, and hand-made manifests (tabular with numeric
// and categorical features, and non-tabular) that need no bundle.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manifest, parseWire, type ManifestInput } from '@edgefleet/shared';
import { ensureSummaryTables } from './migration.js';

export interface TempDb {
  dir: string;
  path: string;
  db: Database.Database;
  close(): void;
}

export function tempDb(prefix = 'ef-summ-'): TempDb {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'agent.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  ensureSummaryTables(db);
  return {
    dir,
    path,
    db,
    close() {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SHA = 'a'.repeat(64);

function base(name: string, version: string): Omit<ManifestInput, 'io'> {
  return {
    schema: 'edgefleet.manifest/v1',
    name,
    version,
    created: '2026-01-01T00:00:00Z',
    files: [{ path: 'model.onnx', sha256: SHA, size: 1 }],
    entrypoint: 'model.onnx',
    runtime: { opset: 17, minAgentVersion: '0.1.0' },
    provenance: { data: [], training: { code: 'test' }, metrics: {}, reason: 'test fixture' },
  };
}

/** Tabular: input "x" [-1, nFeatures] with f0..f(n-1); f0/f1 numeric on edges 0..4, the last categorical (a, b, c). */
export function tabularManifest(opts: { name?: string; version?: string; nFeatures?: number } = {}): Manifest {
  const n = opts.nFeatures ?? 3;
  const features = Array.from({ length: n }, (_, i) =>
    i === n - 1 && n > 1
      ? { name: `f${i}`, index: i, kind: 'categorical' as const, vocabulary: ['a', 'b', 'c'] }
      : { name: `f${i}`, index: i, kind: 'numeric' as const });
  const edges = [0, 1, 2, 3, 4];
  return parseWire(Manifest, {
    ...base(opts.name ?? 'tab', opts.version ?? '1.0.0'),
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, n] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] },
    features,
    reference: {
      id: SHA,
      rows: 100,
      features: features.map((f) => f.kind === 'numeric'
        ? { kind: 'numeric', name: f.name, edges, counts: [25, 25, 25, 25], moments: { n: 100, mean: 2, m2: 100, min: 0, max: 4 } }
        : { kind: 'categorical', name: f.name, counts: { a: 50, b: 30, c: 20 }, other: 0 }),
      outputs: [{ name: 'y', index: 1, edges: [0, 0.5, 1], counts: [50, 50] }],
    },
  }, 'fixture manifest');
}

/** Non-tabular: audio FP32 [1, -1] + sample_rate INT64 [], no features. */
export function audioManifest(): Manifest {
  return parseWire(Manifest, {
    ...base('audio', '1.0.0'),
    io: {
      inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, -1] }, { name: 'sample_rate', datatype: 'INT64', shape: [] }],
      outputs: [{ name: 'energy', datatype: 'FP32', shape: [1, 1] }, { name: 'sr_out', datatype: 'INT64', shape: [] }],
    },
  }, 'fixture manifest');
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}
