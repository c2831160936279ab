/**
 * The configuration's schema: the one place its options, their limits and their defaults
 * live. Every way an option can be wrong has a reason written for the user here, next to
 * the option, rather than zod's generic wording.
 *
 * The keys are those of the legacy JavaScript slate-replicator (`eventSource`,
 * `replicationDestinations`, `maxEventsPerWrite`, `connectTimeout`), so existing config
 * files keep working; `pollIntervalMs`, `http` and, per database, `connectionString`,
 * `ssl` and `applicationName` are new. Unknown keys are errors at every level, so a misspelt
 * option is reported instead of silently falling back to its default.
 */
import { z } from 'zod';
import { describeType, describeValue } from './describeValue.js';
import { findSameDatabases } from './distinctDatabases.js';
import { APPLICATION_NAME_PROBLEM, isApplicationName } from './applicationName.js';
import { UNRESOLVED_PART, parseConnectionString } from './connectionString.js';
import { environmentDefaults } from './environment.js';
import type { Environment, EnvironmentDefaults } from './environment.js';
import type { DatabaseConfig, TlsConfig } from '../types.js';

/**
 * Node's timers treat a delay above 2^31-1 ms (about 24.8 days) as 1 ms, so a larger
 * timeout or poll interval would fire immediately and keep firing: refuse it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** PostgreSQL's own port. */
const DEFAULT_PORT = 5432;

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

/** A file path (a PEM certificate or key); read by the loader, not here. */
function filePath() {
  return z
    .string({ error: (issue) => `must be a file path, got ${describeValue(issue.input)}` })
    .refine((text) => text.trim() !== '', { error: 'must not be empty' });
}

const SSL_SHAPE = 'true, false or an object such as { rejectUnauthorized, ca, cert, key }';

/** `ssl`: true, false, or TLS settings whose ca/cert/key are file paths. */
const sslSchema = z.union(
  [
    z.boolean(),
    z
      .strictObject({
        /** Verify the server's certificate (chain and host name). Default true. */
        rejectUnauthorized: z.boolean({ error: (issue) => `must be true or false, got ${describeValue(issue.input)}` }).optional(),
        /** PEM file of the certificate authorities to trust, instead of the system's. */
        ca: filePath().optional(),
        /** PEM files of a client certificate and its key, for `cert` authentication. */
        cert: filePath().optional(),
        key: filePath().optional(),
      })
      .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), { error: 'cert and key go together: give both or neither' }),
  ],
  { error: (issue) => `must be ${SSL_SHAPE}, got ${describeValue(issue.input)}` },
);

/** `ssl` as written, in the resolved form: false, or settings with rejectUnauthorized decided. */
function resolveSsl(ssl: z.output<typeof sslSchema> | undefined): TlsConfig | false | undefined {
  if (ssl === undefined || ssl === false) return ssl;
  if (ssl === true) return { rejectUnauthorized: true };
  const tls: TlsConfig = { rejectUnauthorized: ssl.rejectUnauthorized ?? true };
  if (ssl.ca !== undefined) tls.ca = ssl.ca;
  if (ssl.cert !== undefined) tls.cert = ssl.cert;
  if (ssl.key !== undefined) tls.key = ssl.key;
  return tls;
}

/**
 * An entry with a connectionString, with every key it does not set itself taken from the
 * URI (explicit keys win). A URI that cannot be read at all is reported by the
 * connectionString key; the placeholders keep host and databaseName from adding a
 * "required" of their own to that one problem.
 */
function fillFromConnectionString(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entry = value as Record<string, unknown>;
  if (entry.connectionString === undefined) return value;
  const { parts, problems } =
    typeof entry.connectionString === 'string' ? parseConnectionString(entry.connectionString) : { parts: undefined, problems: ['not a string'] };
  const filled: Record<string, unknown> = { ...entry };
  for (const [key, part] of Object.entries(parts ?? {})) if (filled[key] === undefined) filled[key] = part;
  if (problems.length > 0) {
    for (const key of ['host', 'databaseName']) if (filled[key] === undefined) filled[key] = UNRESOLVED_PART;
  }
  return filled;
}

/**
 * Where one PostgreSQL database is and how to log in to it. Each key is taken, in order,
 * from the entry itself, from its connectionString, from the environment (see
 * environment.ts), else from its default.
 */
export function makeDatabaseSchema(defaults: EnvironmentDefaults = {}) {
  return z
    .preprocess(
      fillFromConnectionString,
      z.strictObject(
        {
          /** A PostgreSQL URI (postgres://user:password@host:port/database?sslmode=...); other keys override its parts. */
          connectionString: z
            .string({ error: (issue) => `must be a string, got ${describeType(issue.input)}` })
            .superRefine((text, ctx) => {
              for (const message of parseConnectionString(text).problems) ctx.addIssue({ code: 'custom', message });
            })
            .optional(),
          /** Host name or IP address of the PostgreSQL server. Required (here or in connectionString). */
          host: nonBlankString(),
          /** TCP port of the server. Default: PGPORT, else 5432, PostgreSQL's own. */
          port: integerBetween(1, 65_535).optional(),
          /** Name of the database that holds the `events` table. Required (here or in connectionString). */
          databaseName: nonBlankString(),
          /** Role to log in as. Optional: default PGUSER, else the driver uses the OS user name. */
          user: z.string({ error: (issue) => `must be a string, got ${describeValue(issue.input)}` }).optional(),
          /**
           * Password of `user`. Optional (PGPASSWORD, trust or peer authentication, or a
           * ~/.pgpass file). Its reason names the value's type only: a password must never be
           * quoted back.
           */
          password: z.string({ error: (issue) => `must be a string, got ${describeType(issue.input)}` }).optional(),
          /** TLS: true, false, or { rejectUnauthorized, ca, cert, key } with file paths. Default: PGSSLMODE, else none. */
          ssl: sslSchema.optional(),
          /** Replaces `slate-replicator` in the sessions' application_name. Default: PGAPPNAME. */
          applicationName: z
            .string({ error: (issue) => `must be a string, got ${describeValue(issue.input)}` })
            .refine(isApplicationName, { error: APPLICATION_NAME_PROBLEM })
            .optional(),
        },
        { error: objectError('an object such as { host, databaseName, user, password }') },
      ),
    )
    .transform((db): DatabaseConfig => {
      const resolved: DatabaseConfig = { host: db.host, port: db.port ?? defaults.port ?? DEFAULT_PORT, databaseName: db.databaseName };
      const user = db.user ?? defaults.user;
      if (user !== undefined) resolved.user = user;
      const password = db.password ?? defaults.password;
      if (password !== undefined) resolved.password = password;
      const ssl = resolveSsl(db.ssl) ?? defaults.ssl;
      if (ssl !== undefined && ssl !== false) resolved.ssl = ssl;
      const applicationName = db.applicationName ?? defaults.applicationName;
      if (applicationName !== undefined) resolved.applicationName = applicationName;
      return resolved;
    });
}

/** Where the status server listens unless told otherwise: every IPv4 interface, as a container needs. */
export const DEFAULT_HTTP_HOST = '0.0.0.0';

/** The status server; without this key (or --http-port) there is none. */
const httpSchema = z.strictObject(
  {
    /** TCP port of /healthz, /readyz, /status and /metrics. Required. */
    port: integerBetween(1, 65_535),
    /** Address to listen on. Default 0.0.0.0; 127.0.0.1 keeps it on the machine. */
    host: nonBlankString().default(DEFAULT_HTTP_HOST),
  },
  { error: objectError('an object such as { port, host }') },
);

/**
 * The whole configuration. `env` supplies the PG* defaults (environment.ts); without it the
 * schema is pure and takes none.
 */
export function makeConfigSchema(env: Environment = {}) {
  const { defaults, problems: environmentProblems } = environmentDefaults(env);
  const databaseSchema = makeDatabaseSchema(defaults);
  return z
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
        /** The status server (/healthz, /readyz, /status, /metrics). Optional: off without it. */
        http: httpSchema.optional(),
      },
      { error: objectError('an object') },
    )
    .superRefine(
      (config, ctx) => {
        for (const problem of environmentProblems) {
          ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
        }
        // Because of `when` below this also sees partly parsed values, even a non-object.
        const value: unknown = config;
        if (value === null || typeof value !== 'object') return;
        const { eventSource, replicationDestinations } = value as Record<string, unknown>;
        for (const same of findSameDatabases(eventSource, replicationDestinations, defaults.port ?? DEFAULT_PORT)) {
          ctx.addIssue({ code: 'custom', path: same.path, message: same.message });
        }
      },
      // Run even when other options are wrong, so a file's problems are all reported at once;
      // findSameDatabases skips the entries that are not usable yet.
      { when: () => true },
    );
}

/** The schema without environment defaults: its shape is the same whatever the environment. */
export const configSchema = makeConfigSchema();
/** One database entry, without environment defaults. */
export const databaseSchema = makeDatabaseSchema();

/** A configuration as written in a file: optional keys may be absent. */
export type ConfigInput = z.input<typeof configSchema>;
/** A configuration with every default applied: what the replicator runs with. */
export type ResolvedConfig = z.output<typeof configSchema>;
/** One database as written in a file. */
export type DatabaseInput = z.input<typeof databaseSchema>;
