/**
 * The replicator's error family. Every error that ends the process carries the exit code
 * the CLI turns it into; `transient` says whether retrying the same work may succeed.
 * Only `cli.ts` turns an error into an exit code (the table is in the README).
 */

export const ExitCode = {
  ok: 0,
  /** An unexpected failure: a bug, or a fault not classified below. */
  internal: 1,
  /** Invalid command line or configuration; nothing was connected to. */
  usage: 2,
  /** A database could not be reached within connectTimeout at start-up. */
  connect: 3,
  /** A database refused the login or the user lacks a privilege. */
  auth: 4,
  /** A database does not have the schema its role needs (source or destination). */
  schema: 5,
  /** A destination's rows are not a prefix of the source's, or another writer changed them. */
  diverged: 6,
  /** `status`: at least one destination lags the source. */
  lagging: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class ReplicatorError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly transient: boolean;

  constructor(message: string, opts: { exitCode: ExitCodeValue; transient?: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.transient = opts.transient ?? false;
  }
}

/** One problem found in a configuration or command line: where, and what is wrong. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends ReplicatorError {
  readonly problems: ConfigProblem[];

  constructor(source: string, problems: ConfigProblem[], cause?: unknown) {
    const lines = problems.map((p) => (p.path ? `  ${p.path}: ${p.message}` : `  ${p.message}`));
    super(`${source} is invalid:\n${lines.join('\n')}`, { exitCode: ExitCode.usage, cause });
    this.problems = problems;
  }
}

export class ConnectError extends ReplicatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.connect, transient: true, cause });
  }
}

export class AuthError extends ReplicatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.auth, cause });
  }
}

export class SchemaError extends ReplicatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.schema, cause });
  }
}

export class DivergenceError extends ReplicatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.diverged, cause });
  }
}

/** Turns whatever was thrown into an Error without losing it. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-error thrown: ${String(thrown)}`);
}
