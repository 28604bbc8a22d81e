// Translates the hub's SQLite SQL to PostgreSQL in one place (docs/decisions/0040-postgresql.md):
// statements (`?` -> $n, INSERT OR IGNORE/REPLACE -> ON CONFLICT, rowid, reserved words) and
// migration DDL (INTEGER PRIMARY KEY -> identity, INTEGER -> BIGINT, REAL, BLOB, RAISE(ABORT)
// triggers). SQL outside this subset is refused with UNSUPPORTED_SQL naming the construct, so a
// new repository query or migration that does not translate fails loudly in the PostgreSQL tests.
import { AppError } from '@edgefleet/shared';

interface Token {
  kind: 'word' | 'string' | 'quoted' | 'param' | 'space' | 'comment' | 'other';
  text: string;
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    let j = i + 1;
    let kind: Token['kind'] = 'other';
    if (c === "'" || c === '"') {
      kind = c === "'" ? 'string' : 'quoted';
      for (;;) {
        if (j >= sql.length) throw new AppError('UNSUPPORTED_SQL', `unterminated ${c} in SQL: ${sql.slice(i, i + 60)}`);
        if (sql[j] === c) {
          if (sql[j + 1] === c) { j += 2; continue; }
          j++;
          break;
        }
        j++;
      }
    } else if (c === '-' && sql[i + 1] === '-') {
      kind = 'comment';
      while (j < sql.length && sql[j] !== '\n') j++;
    } else if (/[A-Za-z_]/.test(c)) {
      kind = 'word';
      while (j < sql.length && /\w/.test(sql[j] as string)) j++;
    } else if (/\s/.test(c)) {
      kind = 'space';
      while (j < sql.length && /\s/.test(sql[j] as string)) j++;
    } else if (c === '?') {
      kind = 'param';
    }
    out.push({ kind, text: sql.slice(i, j) });
    i = j;
  }
  return out;
}

/** Words PostgreSQL reserves that the hub's schema uses as column names. */
const RESERVED = new Set(['window']);
/** SQLite-only functions: rewrite the repository's SQL portably instead (decision 0040). */
const SQLITE_ONLY = new Set(['json_extract', 'json_each', 'json_group_array', 'group_concat', 'ifnull', 'iif', 'strftime', 'datetime', 'julianday', 'unixepoch', 'printf', 'instr', 'total', 'glob']);

const upper = (t: Token | undefined): string => (t && t.kind === 'word' ? t.text.toUpperCase() : '');

/** Tables' primary key and identity columns, read from the catalog after migrations. */
export interface Catalog {
  primaryKey(table: string): readonly string[] | undefined;
  identity(table: string): string | undefined;
}

export interface Translated {
  sql: string;
  /** The identity column an INSERT returns (for lastInsertRowid). */
  returning: string | null;
}

/** A repository statement in SQLite's dialect, as PostgreSQL. */
export function translateStatement(sql: string, catalog: Catalog): Translated {
  const toks = tokenize(sql);
  const words = toks.map((t, i) => ({ t, i })).filter((x) => x.t.kind === 'word' || x.t.kind === 'other' || x.t.kind === 'param');
  let n = 0;
  let conflict: 'ignore' | 'replace' | null = null;
  let insertTable: string | null = null;
  let insertCols: string[] = [];
  for (let w = 0; w < words.length; w++) {
    const { t } = words[w] as { t: Token };
    const u = upper(t);
    if (t.kind === 'param') {
      n++;
      const next = upper(words[w + 1]?.t);
      t.text = next === 'IS' ? `$${n}::text` : `$${n}`;
    } else if (u === 'INSERT' && upper(words[w + 1]?.t) === 'OR') {
      const how = upper(words[w + 2]?.t);
      if (how !== 'IGNORE' && how !== 'REPLACE') throw new AppError('UNSUPPORTED_SQL', `INSERT OR ${how} has no PostgreSQL translation (expected OR IGNORE or OR REPLACE): ${sql}`);
      conflict = how === 'IGNORE' ? 'ignore' : 'replace';
      (words[w + 1] as { t: Token }).t.text = '';
      (words[w + 2] as { t: Token }).t.text = '';
    } else if (u === 'INTO' && upper(words[w - 1]?.t) !== 'INTO' && insertTable === null && words.slice(0, w).some((x) => upper(x.t) === 'INSERT')) {
      insertTable = (words[w + 1]?.t.text ?? '').toLowerCase();
      if (words[w + 2]?.t.text === '(') {
        for (let k = w + 3; k < words.length && words[k]?.t.text !== ')'; k++) if (words[k]?.t.kind === 'word') insertCols.push((words[k] as { t: Token }).t.text.toLowerCase());
      }
    } else if (t.kind === 'word' && RESERVED.has(t.text.toLowerCase())) {
      t.text = `"${t.text.toLowerCase()}"`;
    } else if (t.kind === 'word' && t.text.toLowerCase() === 'rowid') {
      t.text = 'ctid';
    } else if (t.kind === 'word' && SQLITE_ONLY.has(t.text.toLowerCase()) && words[w + 1]?.t.text === '(') {
      throw new AppError('UNSUPPORTED_SQL', `${t.text}() is SQLite-only: write the query portably (docs/decisions/0040-postgresql.md): ${sql}`);
    }
  }
  let out = toks.map((t) => t.text).join('').trim().replace(/;$/, '');
  if (conflict === 'ignore') out += ' ON CONFLICT DO NOTHING';
  if (conflict === 'replace') {
    const pk = insertTable ? catalog.primaryKey(insertTable) : undefined;
    if (!pk || insertCols.length === 0) throw new AppError('UNSUPPORTED_SQL', `INSERT OR REPLACE needs a table with a primary key and a column list: ${sql}`);
    const set = insertCols.filter((c) => !pk.includes(c)).map((c) => `${c} = excluded.${c}`);
    out += ` ON CONFLICT (${pk.join(', ')}) ${set.length ? `DO UPDATE SET ${set.join(', ')}` : 'DO NOTHING'}`;
  }
  insertCols = [];
  const identity = insertTable ? catalog.identity(insertTable) : undefined;
  const returning = identity && !/\bRETURNING\b/i.test(out) ? identity : null;
  if (returning) out += ` RETURNING ${returning}`;
  return { sql: out, returning };
}

const TRIGGER = /CREATE\s+TRIGGER\s+(\w+)\s+BEFORE\s+(UPDATE|DELETE|INSERT)\s+ON\s+(\w+)\s+(?:WHEN\s+([\s\S]+?)\s+)?BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*'((?:[^']|'')*)'\s*\)\s*;\s*END\s*;?/gi;

/** A migration's DDL in SQLite's dialect, as PostgreSQL (one script for the simple query protocol). */
export function translateDdl(sql: string): string {
  const triggers: string[] = [];
  const pre = sql.replace(TRIGGER, (_m, name: string, op: string, table: string, when: string | undefined, msg: string) => {
    triggers.push(`CREATE FUNCTION ${name}_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN RAISE EXCEPTION '${msg}'; END $fn$;\n`
      + `CREATE TRIGGER ${name} BEFORE ${op.toUpperCase()} ON ${table} FOR EACH ROW ${when ? `WHEN (${when}) ` : ''}EXECUTE FUNCTION ${name}_fn();`);
    return `@@trigger${triggers.length - 1}@@`;
  });
  if (/\bCREATE\s+TRIGGER\b/i.test(pre)) throw new AppError('UNSUPPORTED_SQL', 'a trigger other than BEFORE UPDATE/DELETE/INSERT ON t [WHEN ...] BEGIN SELECT RAISE(ABORT, \'...\'); END has no PostgreSQL translation: give the migration a `postgres` override');
  const toks = tokenize(pre);
  const w = toks.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
  for (let i = 0; i < w.length; i++) {
    const t = w[i] as Token;
    const u = upper(t);
    if (u === 'INTEGER' && upper(w[i + 1]) === 'PRIMARY' && upper(w[i + 2]) === 'KEY') {
      t.text = 'BIGINT GENERATED BY DEFAULT AS IDENTITY';
      if (upper(w[i + 3]) === 'AUTOINCREMENT') (w[i + 3] as Token).text = '';
    } else if (u === 'INTEGER') t.text = 'BIGINT';
    else if (u === 'REAL') t.text = 'DOUBLE PRECISION';
    else if (u === 'BLOB') t.text = 'BYTEA';
    else if (u === 'AUTOINCREMENT') throw new AppError('UNSUPPORTED_SQL', 'AUTOINCREMENT outside INTEGER PRIMARY KEY has no PostgreSQL translation');
    else if (u === 'WITHOUT' && upper(w[i + 1]) === 'ROWID') { t.text = ''; (w[i + 1] as Token).text = ''; }
    else if (t.kind === 'word' && RESERVED.has(t.text.toLowerCase())) t.text = `"${t.text.toLowerCase()}"`;
  }
  return toks.map((t) => t.text).join('').replace(/@@trigger(\d+)@@/g, (_m, i: string) => triggers[Number(i)] as string);
}
