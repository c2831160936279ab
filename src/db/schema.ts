/**
 * The slate schema as this project writes it: the SQL files under `sql/`, applied to a new
 * database in one transaction. A destination gets the events table; a source also gets the
 * id counter, insert_events and the notify and immutability triggers.
 */
import { readFile } from 'node:fs/promises';
import type pg from 'pg';

export type DatabaseKind = 'source' | 'destination';

/** The files each kind needs, in the order they are applied (names relative to `sql/`). */
export const SCHEMA_FILES: Readonly<Record<DatabaseKind, readonly string[]>> = {
  destination: ['events.sql'],
  source: ['events.sql', 'source.sql'],
};

/**
 * The `sql/` directory of the package. Computed on demand, not at import: the same relative
 * path works from `src/db/` (tests) and `dist/db/` (the installed package).
 */
export function sqlDirectory(): URL {
  return new URL('../../sql/', import.meta.url);
}

/** The schema files of `kind`, read from disk, in the order they are applied. */
export async function readSchemaFiles(kind: DatabaseKind): Promise<{ name: string; sql: string }[]> {
  const dir = sqlDirectory();
  return Promise.all(
    SCHEMA_FILES[kind].map(async (name) => ({ name, sql: await readFile(new URL(name, dir), 'utf8') })),
  );
}

/**
 * Creates the schema of `kind` in the database `client` is connected to, all files in one
 * transaction: either every object is created or none is. The client must not be inside a
 * transaction already. An error from the server is rethrown as it came (a pg
 * DatabaseError carries the SQLSTATE and position callers may need).
 */
export async function applySchema(client: pg.Client, kind: DatabaseKind): Promise<void> {
  const files = await readSchemaFiles(kind);
  await client.query('BEGIN');
  try {
    for (const file of files) {
      await client.query(file.sql);
    }
    await client.query('COMMIT');
  } catch (thrown) {
    await client.query('ROLLBACK').catch(() => {});
    throw thrown;
  }
}
