// The one refusal of hub.db and agent.db written by a newer program (docs/operations.md "Upgrades"):
// the database records a migration this program does not know, so its tables may mean something this
// code cannot read or keep consistent. Opening refuses before changing anything.
import { AppError } from './errors.js';

export interface UnknownMigration {
  id: number;
  name: string;
}

/** SCHEMA_TOO_NEW naming the file, the unknown migrations and what to do. */
export function schemaTooNew(file: string, program: 'hub' | 'agent', path: string, unknown: readonly UnknownMigration[]): AppError {
  const list = unknown.map((m) => `${m.id} (${JSON.stringify(m.name)})`).join(', ');
  return new AppError(
    'SCHEMA_TOO_NEW',
    `${file} at ${path} was written by a newer ${program}: it records migration${unknown.length === 1 ? '' : 's'} ${list} that this ${program} does not know. `
      + `Run that newer ${program} (or newer) on it, or restore a backup taken by this version; a database is never migrated back`,
    { details: { file: path, unknownMigrations: unknown } },
  );
}
