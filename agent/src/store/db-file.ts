// The agent.db file itself, before and after SQLite opens it (docs/decisions/0151-agent-db-made-whole-before-named.md):
// the agent's owner of the shared SQLite file checks and creation (shared/src/db-file.ts, which the hub's hub.db uses
// too). A new agent.db is built under a name of its own and linked to agent.db only with its tables; one found empty or
// without tables, or a directory where it or its -wal/-shm belongs, is refused naming the way back below.
import { sqliteFile } from '@edgefleet/shared/core';
import type BetterSqlite3 from 'better-sqlite3';
import { Database } from './sqlite.js';

/** The ways back from an agent.db that cannot be used, and what each costs (every refusal of the file ends with it). */
export function wayBack(path: string): string {
  return `Restore a backup of it, or move it aside (mv ${path} ${path}.damaged, with its -wal and -shm files) and start `
    + 'again: an enrolled box takes its models and settings from its hub again (its enrollment is in credentials.json), '
    + 'a standalone box needs "trust set" and "install" again; what it had not sent to the hub is lost';
}

const agentDb = sqliteFile<BetterSqlite3.Database>({ program: 'agent', open: (path) => new Database(path), wayBack });

/** Refuses a directory (or any other non-file) where agent.db or its -wal/-shm belongs, before SQLite sees it. */
export const refuseNotAFile = (path: string): void => agentDb.refuseNotAFile(path);
/** Refuses an opened agent.db that holds no table. Reads only. */
export const refuseEmpty = (db: BetterSqlite3.Database, path: string): void => agentDb.refuseEmpty(db, path);
/** Makes agent.db when there is none, whole before it has its name (shared/src/db-file.ts createWhole). */
export const createWhole = (path: string, build: (db: BetterSqlite3.Database) => void): void => agentDb.createWhole(path, build);
