// The one refusal of hub.db and agent.db written by a newer program (docs/operations.md "Upgrades"):
// the database records a migration this program does not know, so its tables may mean something this
// code cannot read or keep consistent. Opening refuses before changing anything. It names this program's
// version and the one that applied those migrations, which each program records beside every migration it
// applies (MIGRATION_VERSION_COLUMN; NULL in rows applied before it did).
import { AppError } from './errors.js';

/** The column of schema_migrations (hub.db, the hub's PostgreSQL database) and migrations (agent.db) naming the program version that applied the row. */
export const MIGRATION_VERSION_COLUMN = 'program_version';

export interface UnknownMigration {
  id: number;
  name: string;
  /** The version of the program that applied it, when that program recorded it. */
  programVersion?: string | null;
}

/**
 * SCHEMA_TOO_NEW naming the file, the unknown migrations, both versions (this program's, `mine`, and the
 * one that applied the last unknown migration, when recorded) and what to do.
 */
export function schemaTooNew(file: string, program: 'hub' | 'agent', path: string, unknown: readonly UnknownMigration[], mine: string): AppError {
  const list = unknown.map((m) => `${m.id} (${JSON.stringify(m.name)})`).join(', ');
  const writer = [...unknown].reverse().find((m) => m.programVersion)?.programVersion ?? null;
  const newer = writer ? `${program} ${writer}` : `newer ${program}`;
  return new AppError(
    'SCHEMA_TOO_NEW',
    `${file} at ${path} was written by a newer ${program} (${writer ? `${writer}; ` : ''}this ${program} is ${mine}): it records `
      + `migration${unknown.length === 1 ? '' : 's'} ${list} that ${program} ${mine} does not know. Run ${writer ? newer : `that ${newer}`} `
      + `(or newer) on it, or restore a backup taken by ${program} ${mine} (or older) before the upgrade; a database is never migrated back`,
    { details: { file: path, unknownMigrations: unknown.map(({ id, name }) => ({ id, name })), version: mine, writtenBy: writer } },
  );
}
