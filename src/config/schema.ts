/**
 * The configuration's schema: the one place its options, their limits and their defaults
 * live. Every way an option can be wrong has a reason written for the user here, next to
 * the option, rather than zod's generic wording.
 *
 * The keys are those of the legacy JavaScript slate-replicator (`eventSource`,
 * `replicationDestinations`, `maxEventsPerWrite`, `connectTimeout`), so existing config
 * files keep working; `pollIntervalMs` is new. Unknown keys are errors at every level, so
 * a misspelt option is reported instead of silently falling back to its default.
 */
import { z } from 'zod';
import { describeType, describeValue } from './describeValue.js';
import { findSameDatabases } from './distinctDatabases.js';

/**
 * Node's timers treat a delay above 2^31-1 ms (about 24.8 days) as 1 ms, so a larger
 * timeout or poll interval would fire immediately and keep firing: refuse it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** The reason for a value that is missing altogether. */
const REQUIRED = 'required';

/** An integer option in [min, max]: one sentence, naming the range, for every way to miss it. */
function integerBetween(min: number, max: number, unit?: string) {
  const rule = `must be an integer between ${min} and ${max}${unit === undefined ? '' : ` (${unit})`}`;
  return z
    .int({ error: (issue) => (issue.input === undefined ? REQUIRED : `${rule}, got ${describeValue(issue.input)}`) })
    .min(min)
    .max(max);
}

/** A string that must hold something: a host or database name of spaces is a mistake. */
function nonBlankString() {
  return z
    .string({ error: (issue) => (issue.input === undefined ? REQUIRED : `must be a string, got ${describeValue(issue.input)}`) })
    .refine((text) => text.trim() !== '', { error: 'must not be empty' });
}

/** The reason for an object option that is something else; unknown keys get theirs later. */
function objectError(shape: string) {
  return (issue: { code?: string; input?: unknown }): string | undefined => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? REQUIRED : `must be ${shape}, got ${describeValue(issue.input)}`;
  };
}

/** Where one PostgreSQL database is and how to log in to it. */
export const databaseSchema = z.strictObject(
  {
    /** Host name or IP address of the PostgreSQL server. Required. */
    host: nonBlankString(),
    /** TCP port of the server. Default 5432, PostgreSQL's own. */
    port: integerBetween(1, 65_535).default(5432),
    /** Name of the database that holds the `events` table. Required. */
    databaseName: nonBlankString(),
    /** Role to log in as. Optional: without it the driver uses PGUSER or the OS user name. */
    user: z.string({ error: (issue) => `must be a string, got ${describeValue(issue.input)}` }).optional(),
    /**
     * Password of `user`. Optional (trust or peer authentication, or a ~/.pgpass file).
     * Its reason names the value's type only: a password must never be quoted back.
     */
    password: z.string({ error: (issue) => `must be a string, got ${describeType(issue.input)}` }).optional(),
  },
  { error: objectError('an object such as { host, databaseName, user, password }') },
);

export const configSchema = z
  .strictObject(
    {
      /** The source database, whose `events` table the application appends to. Required. */
      eventSource: databaseSchema,
      /** The databases kept identical to the source: at least one, each a different database. */
      replicationDestinations: z
        .array(databaseSchema, {
          error: (issue) => {
            if (issue.input === undefined) return REQUIRED;
            const hint = describeType(issue.input) === 'an object' ? ' (put a single database in [ ])' : '';
            return `must be an array of databases, got ${describeValue(issue.input)}${hint}`;
          },
        })
        .min(1, { error: 'must list at least one destination database' }),
      /**
       * Most rows one destination write transaction adds (a single source transaction that
       * is larger is still written whole, in one transaction). Default 10000. The legacy
       * tool raised any smaller value to 10000; this one takes what it is given.
       */
      maxEventsPerWrite: integerBetween(1, 1_000_000).default(10_000),
      /** Milliseconds to wait for a database connection; the legacy key has no unit. Default 15000. */
      connectTimeout: integerBetween(1, MAX_TIMER_MS, 'milliseconds').default(15_000),
      /**
       * Milliseconds between safety catch-ups, which run even when no notification arrives,
       * so a lost notification delays a row by at most this long. Default 5000; at least 100,
       * so the poll cannot become a busy loop against the source.
       */
      pollIntervalMs: integerBetween(100, MAX_TIMER_MS, 'milliseconds').default(5_000),
    },
    { error: objectError('an object') },
  )
  .superRefine(
    (config, ctx) => {
      // Because of `when` below this also sees partly parsed values, even a non-object.
      const value: unknown = config;
      if (value === null || typeof value !== 'object') return;
      const { eventSource, replicationDestinations } = value as Record<string, unknown>;
      for (const same of findSameDatabases(eventSource, replicationDestinations)) {
        ctx.addIssue({ code: 'custom', path: same.path, message: same.message });
      }
    },
    // Run even when other options are wrong, so a file's problems are all reported at once;
    // findSameDatabases skips the entries that are not usable yet.
    { when: () => true },
  );

/** A configuration as written in a file: optional keys may be absent. */
export type ConfigInput = z.input<typeof configSchema>;
/** A configuration with every default applied: what the replicator runs with. */
export type ResolvedConfig = z.output<typeof configSchema>;
/** One database as written in a file. */
export type DatabaseInput = z.input<typeof databaseSchema>;
