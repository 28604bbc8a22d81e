// Device search bench (docs/performance.md "Device search", docs/decisions/0099-device-search-index.md): the
// console's page of a search, GET /devices?q=…&limit=200, over HTTP on a hub process as it ships (test/bench/hub-proc.ts),
// on SQLite (hub.db) and on PostgreSQL (a private cluster from hub/src/testing/postgres.ts, as hub/bench/database.bench.ts),
// against the baseline measured in the same run on the same hub: GET /devices?limit=200 with no filter. The tag
// filter's page (`tag=site=north`, its own index, decision 0095) is printed beside for comparison. The fleet is
// SHORT_SEARCH_MAX_DEVICES devices by default, the most a search of 1–2 characters (no trigram: every device's row read)
// is answered on (docs/decisions/0109-short-device-searches.md), so those are measured at their dearest; with more devices
// they are refused (400) and printed so. Devices are created by the hub's store in hub.db (DevicesRepo.create: tags,
// tag rows and search row), with 3 tags and one or two versions held, their search rows written again with them
// (writeDeviceSearch, as a state report does); PostgreSQL gets a copy of those rows. Each request is timed by the client (wall, median of ROUNDS, every
// query and the baseline taken in turn each round); the hub's answer is checked (`total`, and `totalExact`: a search of more
// than SEARCH_COUNT_MAX matches on more than SHORT_SEARCH_MAX_DEVICES devices is counted only that far, decision 0123).
// Run: node --conditions=source --import tsx test/bench/device-search.bench.ts [--devices N] [--rounds N]
// bench-limit-s: 150
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeFixture } from '@edgefleet/examples';
import { SEARCH_COUNT_MAX, SHORT_SEARCH_MAX_DEVICES, totalText } from '@edgefleet/shared';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { writeDeviceSearch } from '../../hub/src/store/device-search.js';
import { startPostgres } from '../../hub/src/testing/postgres.js';
import { HubProc } from './hub-proc.js';
import { fmt } from './fleet-setup.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i > 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name}: expected a positive whole number, got ${String(process.argv[i + 1])}`);
  return v;
};
const N = arg('--devices', SHORT_SEARCH_MAX_DEVICES);
const ROUNDS = arg('--rounds', 15);
const SITES = ['north', 'south', 'east', 'west', 'Zürich'];

const idOf = (i: number) => `dev-${String(i).padStart(6, '0')}`;
/** Device i: 3 tags; version 1.i%5.0 of vision, and every other device 2.0.0 of audio too. */
const tagsOf = (i: number) => ({ site: SITES[i % 5] as string, line: `l${i % 8}`, ring: i % 10 === 0 ? 'canary' : 'main' });
const heldOf = (i: number) => [{ name: 'vision', version: `${1 + (i % 2)}.${i % 5}.0` }, ...(i % 2 ? [{ name: 'audio', version: '2.0.0' }] : [])];

/** What the console's search box sends (q), how many of the N devices match it; a tag filter for comparison. */
const QUERIES: Array<{ what: string; query: string; matches: (i: number) => boolean }> = [
  { what: 'an id part matching none', query: 'q=dev-9x', matches: () => false },
  { what: 'text matching none', query: 'q=nothing-here', matches: () => false },
  { what: 'a tag value', query: `q=${encodeURIComponent('zürich')}`, matches: (i) => i % 5 === 4 },
  { what: 'key=value', query: 'q=site%3Deast', matches: (i) => i % 5 === 2 },
  { what: 'a version', query: `q=${encodeURIComponent('vision@2')}`, matches: (i) => i % 2 === 1 },
  { what: 'an id part', query: 'q=dev-0001', matches: (i) => idOf(i).includes('dev-0001') },
  { what: '2 characters', query: 'q=l3', matches: (i) => i % 8 === 3 },
  { what: '1 character', query: 'q=w', matches: (i) => i % 5 === 3 },
  { what: 'the tag filter (indexed, not q)', query: 'tag=site%3Dnorth', matches: (i) => i % 5 === 0 },
];

/** The fleet written by the hub's store into hub.db in `dataDir`. */
function writeFleet(dataDir: string): void {
  const store = Store.open(dataDir, HUB_MIGRATIONS);
  try {
    const at = new Date();
    const held = store.db.prepare("INSERT INTO device_models (device_id, name, version, status) VALUES (?, ?, ?, 'active')");
    store.db.transaction(() => {
      for (let i = 0; i < N; i++) {
        const id = idOf(i);
        store.devices.create(id, `secret-${i}-0123456789abcdef`, tagsOf(i), null, at);
        for (const m of heldOf(i)) held.run(id, m.name, m.version);
        writeDeviceSearch(store.db, id, { held: heldOf(i) });
      }
    })();
  } finally {
    store.close();
  }
}

/**
 * The same fleet in PostgreSQL `database`: hub.db's rows of the tables the store wrote, copied as they are, 500 to an
 * INSERT (the store's own writes, a statement at a time through the synchronous facade, take 20–50 s here), then
 * ANALYZEd as autovacuum would.
 */
function copyFleet(dataDir: string, pgDataDir: string, database: string): void {
  const from = new Database(join(dataDir, 'hub.db'), { readonly: true, fileMustExist: true });
  const to = Store.open(pgDataDir, HUB_MIGRATIONS, { database });
  try {
    to.db.transaction(() => {
      for (const table of ['devices', 'device_tags', 'device_models', 'device_search']) {
        const rows = from.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
        const cols = Object.keys(rows[0] ?? {});
        for (let i = 0; i < rows.length; i += 500) {
          const chunk = rows.slice(i, i + 500);
          to.db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}`)
            .run(...chunk.flatMap((r) => cols.map((c) => r[c])));
        }
      }
    })();
    to.db.exec('ANALYZE');
  } finally {
    to.close();
    from.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function measure(name: string, dataDir: string, database: string | undefined, fx: Awaited<ReturnType<typeof makeFixture>>): Promise<void> {
  const cfg = { dataDir, ...(database ? { database } : {}), httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' };
  const hub = await HubProc.fork(cfg, dataDir, fx, [], null, false);
  try {
    const get = async (query: string): Promise<{ ms: number; status: number; total: number | null; exact: boolean }> => {
      const t0 = performance.now();
      const res = await fetch(`${hub.httpUrl}/api/v1/devices?limit=200${query ? `&${query}` : ''}`, { headers: { authorization: `Bearer ${hub.token}` } });
      const body = (await res.json()) as { total?: number; totalExact?: boolean };
      return { ms: performance.now() - t0, status: res.status, total: body.total ?? null, exact: body.totalExact !== false };
    };
    const base: number[] = [];
    const times = QUERIES.map(() => [] as number[]);
    const answers = QUERIES.map(() => ({ status: 0, total: null as number | null, exact: true }));
    for (const q of ['', ...QUERIES.map((x) => x.query)]) await get(q); // warm: statements prepared, pages cached
    for (let r = 0; r < ROUNDS; r++) {
      base.push((await get('')).ms);
      for (const [k, q] of QUERIES.entries()) {
        const a = await get(q.query);
        times[k]!.push(a.ms);
        answers[k] = a;
      }
    }
    const b = median(base);
    console.log(`  baseline GET /devices?limit=200 (no filter): ${fmt(b, 1)} ms (median of ${ROUNDS})`);
    for (const [k, q] of QUERIES.entries()) {
      const want = Array.from({ length: N }, (_, i) => i).filter(q.matches).length;
      const a = answers[k]!;
      const shown = a.status === 200 ? `${totalText(a.total ?? -1, a.exact)} match${a.exact ? '' : ` of ${fmt(want)}`}` : `refused, HTTP ${a.status}`;
      const capped = q.query.startsWith('q=') && want > SEARCH_COUNT_MAX && N > SHORT_SEARCH_MAX_DEVICES;
      if (a.status === 200 && (a.exact ? a.total !== want : !capped || a.total !== SEARCH_COUNT_MAX)) {
        throw new Error(`${name} ${q.query}: total ${String(a.total)}${a.exact ? '' : ' (not exact)'}, expected ${want}`);
      }
      if (a.status !== 200 && !(a.status === 400 && N > SHORT_SEARCH_MAX_DEVICES)) throw new Error(`${name} ${q.query}: HTTP ${a.status}`);
      const m = median(times[k]!);
      console.log(`  ${name} ${fmt(N)} devices, ${q.what} (${q.query}, ${shown}): ${fmt(m, 1)} ms vs ${fmt(b, 1)} ms unfiltered = ${(m / b).toFixed(2)}x`);
    }
  } finally {
    await hub.stop();
  }
}

const root = mkdtempSync(join(tmpdir(), 'ef-bench-search-'));
const pg = await startPostgres();
try {
  const fx = await makeFixture(join(root, 'fx'));
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const dataDir = join(root, 'hub');
  let t = performance.now();
  writeFleet(dataDir);
  console.log(`${fmt(N)} devices written by the hub's store in ${fmt((performance.now() - t) / 1000, 1)} s`);
  await measure('sqlite', dataDir, undefined, fx);
  const database = pg.createDatabase();
  const pgDataDir = join(root, 'hub-pg');
  t = performance.now();
  copyFleet(dataDir, pgDataDir, database);
  console.log(`copied to PostgreSQL in ${fmt((performance.now() - t) / 1000, 1)} s`);
  await measure('postgres', pgDataDir, database, fx);
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await pg.stop();
  rmSync(root, { recursive: true, force: true });
}
