// better-sqlite3, loaded with require rather than import: importing a CommonJS package from
// ESM runs Node's CommonJS export lexer and translator, ~2 MB of the idle agent's RSS
// (docs/performance.md). The same constructor either way.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
