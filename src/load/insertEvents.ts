/**
 * Writing events through a source's `insert_events(text)`, the form every application of
 * a database made by the old `init-slate-db` uses.
 *
 * The argument is the text that follows `INSERT INTO events (id, ts, event) VALUES `:
 * one `($1[n], $2, '<event JSON>')` per row, n counting from 1. The function takes the id
 * lock, binds `$1` to the ids it allocated and `$2` to transaction_timestamp(), and returns
 * the number of rows inserted.
 *
 * Two hazards of that form, and how they are avoided:
 * - The JSON is spliced into SQL as a string literal. It is written as a plain '...'
 *   literal with `'` doubled, which keeps every other character, backslashes included, only
 *   while standard_conforming_strings is on (the default since PostgreSQL 9.1); a session
 *   with it off would read `\` as an escape. `requireStandardConformingStrings` checks.
 * - The legacy function finds the rows by searching the whole text for `$1[n]` and `$2,`,
 *   event bodies included, so an event containing such text would be miscounted. Every
 *   `$` of the JSON is written as the JSON escape `\u0024` instead: in valid JSON a `$`
 *   can only stand inside a string, where the escape means the same character, so the
 *   stored jsonb is unchanged.
 */
import type pg from 'pg';

/** `text` as a plain SQL string literal; correct only with standard_conforming_strings on. */
export function sqlStringLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Rewrites every `$` of a JSON text as `\u0024`; the text must be valid JSON. */
export function protectDollars(jsonText: string): string {
  return jsonText.replaceAll('$', '\\u0024');
}

/**
 * The `insert_events(text)` argument for events given as JSON texts (so that numbers
 * JavaScript cannot hold, like 12345678901234567890 or 1.10, pass through as written).
 */
export function insertValuesFromJson(jsonTexts: readonly string[]): string {
  if (jsonTexts.length === 0) throw new RangeError('insert_events needs at least one event');
  return jsonTexts.map((json, i) => `($1[${i + 1}], $2, ${sqlStringLiteral(protectDollars(json))})`).join(', ');
}

/** The `insert_events(text)` argument for events given as JavaScript values. */
export function insertValues(events: readonly unknown[]): string {
  return insertValuesFromJson(events.map(jsonText));
}

function jsonText(event: unknown): string {
  const json = JSON.stringify(event) as string | undefined;
  if (json === undefined) throw new TypeError(`an event must be a JSON value, got ${typeof event}`);
  return json;
}

/** Fails unless the session reads '...' literals without backslash escapes. */
export async function requireStandardConformingStrings(client: pg.ClientBase): Promise<void> {
  const result = await client.query<{ standard_conforming_strings: string }>('SHOW standard_conforming_strings');
  const value = result.rows[0]?.standard_conforming_strings;
  if (value !== 'on') {
    throw new Error(
      `standard_conforming_strings is ${value ?? 'unknown'} in this session; insert_events(text) would read ` +
        'backslashes in events as escapes. Run SET standard_conforming_strings = on first.',
    );
  }
}

/**
 * Calls `insert_events(text)` once, hence one source transaction (unless the caller has
 * one open), checks that it inserted `expectedRows` rows and returns that number.
 * The `::text` cast chooses the legacy overload where an `insert_events(jsonb)` exists too.
 */
export async function callInsertEvents(client: pg.ClientBase, insertValuesText: string, expectedRows: number): Promise<number> {
  const result = await client.query<{ inserted: number }>('SELECT insert_events($1::text) AS inserted', [insertValuesText]);
  const inserted = result.rows[0]?.inserted;
  if (inserted !== expectedRows) {
    throw new Error(`insert_events inserted ${String(inserted)} rows, expected ${expectedRows}`);
  }
  return inserted;
}

/** Inserts `events` (JavaScript values) through `insert_events(text)`. */
export async function insertEvents(client: pg.ClientBase, events: readonly unknown[]): Promise<number> {
  return callInsertEvents(client, insertValues(events), events.length);
}

/** Inserts `events` (JSON texts, kept exactly as written) through `insert_events(text)`. */
export async function insertEventsJson(client: pg.ClientBase, jsonTexts: readonly string[]): Promise<number> {
  return callInsertEvents(client, insertValuesFromJson(jsonTexts), jsonTexts.length);
}
