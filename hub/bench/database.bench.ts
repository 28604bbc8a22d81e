// Database backends bench (docs/decisions/0040-postgresql.md): the hub's representative repository
// write — one device's telemetry batch (10 one-minute windows) stored with its rollups in one
// transaction, then the ack read (the device's highest stored seq) — on SQLite (hub.db, WAL) and on
// PostgreSQL (a private cluster from testing/postgres.ts, fsync off like the tests) through the
// synchronous facade, in the same run. Also the bridge's cost per statement: `SELECT 1` through the
// facade (post to the worker, Atomics.wait, answer) against the same query on an async `pg` client
// in this thread, and against SQLite. Prints per-batch and per-statement µs, ratios, CPU seconds and
// the load average. Run: node --conditions=source --import tsx hub/bench/database.bench.ts [--batches N]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LATENCY_BOUNDS_MS, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../src/store/index.js';
import { HUB_MIGRATIONS } from '../src/schema.js';
import { registerVersion } from '../src/rollups/testing.js';
import { startPostgres } from '../src/testing/postgres.js';

const arg = process.argv.indexOf('--batches');
const BATCHES = arg > 0 ? Number(process.argv[arg + 1]) : 300;
const PER_BATCH = 10;
const PINGS = 3000;
const T0 = Date.parse('2026-03-01T12:00:00Z');

function window(seq: number): SeqWindow {
  const latency = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, () => 0);
  latency[18] = 60;
  const hist = { counts: Array.from({ length: 10 }, (_, b) => 5 + ((seq + b) % 7)), under: 0, over: 0 };
  return {
    seq, model: 'vib', version: '1.0.0', start: new Date(T0 + seq * 60_000).toISOString(), lengthSec: 60, count: 60, errors: {},
    latency: { counts: latency, sumMs: 120 },
    features: Array.from({ length: 4 }, (_, i) => ({ kind: 'numeric' as const, name: `f${i}`, hist, moments: { n: 60, mean: 0.5, m2: 1, min: 0, max: 1 }, nulls: 0, nans: 0 })),
    outputs: [{ name: 'p', index: 0, hist, moments: { n: 60, mean: 0.4, m2: 0.9, min: 0, max: 1 } }],
    inputs: [],
  };
}

interface Run { batchUs: number; pingUs: number; cpuS: number }

function measure(store: Store): Run {
  const features = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, index: i, kind: 'numeric' as const }));
  registerVersion(store.db, 'vib', '1.0.0', { features });
  const ack = store.db.prepare('SELECT MAX(seq) FROM device_windows WHERE device_id = ?').pluck();
  const at = new Date(T0);
  const cpu0 = process.cpuUsage();
  let t = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    const dev = `d-${b % 20}`;
    const base = Math.floor(b / 20) * PER_BATCH;
    store.telemetry.putWindows(dev, Array.from({ length: PER_BATCH }, (_, i) => window(base + i + 1)), at);
    ack.get(dev);
  }
  const batchUs = ((performance.now() - t) * 1000) / BATCHES;
  const ping = store.db.prepare('SELECT 1').pluck();
  t = performance.now();
  for (let i = 0; i < PINGS; i++) ping.get();
  const pingUs = ((performance.now() - t) * 1000) / PINGS;
  const cpu = process.cpuUsage(cpu0);
  return { batchUs, pingUs, cpuS: (cpu.user + cpu.system) / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-db-'));
const cluster = await startPostgres();
try {
  const lite = Store.open(join(dir, 'lite'), HUB_MIGRATIONS);
  const sqlite = measure(lite);
  lite.close();
  const url = cluster.createDatabase();
  const pgStore = Store.open(join(dir, 'pg'), HUB_MIGRATIONS, { database: url });
  const postgres = measure(pgStore);
  pgStore.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const t = performance.now();
  for (let i = 0; i < PINGS; i++) await client.query({ text: 'SELECT 1', name: 'ping' });
  const asyncUs = ((performance.now() - t) * 1000) / PINGS;
  await client.end();
  const f = (n: number) => n.toFixed(0);
  console.log(`telemetry batch (${PER_BATCH} windows + rollups + ack read), ${BATCHES} batches:`);
  console.log(`  sqlite   ${f(sqlite.batchUs)} µs/batch (cpu ${sqlite.cpuS.toFixed(2)} s)`);
  console.log(`  postgres ${f(postgres.batchUs)} µs/batch (cpu ${postgres.cpuS.toFixed(2)} s, whole process incl. the worker) = ${(postgres.batchUs / sqlite.batchUs).toFixed(1)}x sqlite`);
  console.log(`per statement (SELECT 1, ${PINGS}x): sqlite ${sqlite.pingUs.toFixed(1)} µs, postgres via facade ${postgres.pingUs.toFixed(1)} µs, async pg client ${asyncUs.toFixed(1)} µs`);
  console.log(`  bridge cost (facade - async client) = ${(postgres.pingUs - asyncUs).toFixed(1)} µs/statement; facade/async = ${(postgres.pingUs / asyncUs).toFixed(2)}x`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
