/**
 * Defaults from libpq's environment variables, for keys a database entry does not set
 * (neither as a key nor in its connectionString):
 *
 *   PGUSER      user
 *   PGPASSWORD  password
 *   PGPORT      port
 *   PGSSLMODE   ssl (see tlsMode.ts)
 *   PGAPPNAME   applicationName
 *
 * PGHOST and PGDATABASE are not used: every entry is a different database, so one default
 * host and database for all of them would only hide a missing key. A variable that is set
 * to an empty string counts as unset.
 */
import type { TlsMode } from './tlsMode.js';
import { SSLMODE_PROBLEM, tlsFromSslMode } from './tlsMode.js';
import { APPLICATION_NAME_PROBLEM, isApplicationName } from './applicationName.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export const ENVIRONMENT_VARIABLES = ['PGUSER', 'PGPASSWORD', 'PGPORT', 'PGSSLMODE', 'PGAPPNAME'] as const;

export interface EnvironmentDefaults {
  user?: string;
  password?: string;
  port?: number;
  ssl?: TlsMode;
  applicationName?: string;
}

export interface EnvironmentProblem {
  variable: (typeof ENVIRONMENT_VARIABLES)[number];
  message: string;
}

/** The defaults `env` gives, and a problem for each variable set to a value that cannot be used. */
export function environmentDefaults(env: Environment): { defaults: EnvironmentDefaults; problems: EnvironmentProblem[] } {
  const value = (name: (typeof ENVIRONMENT_VARIABLES)[number]): string | undefined => {
    const text = env[name];
    return text === undefined || text === '' ? undefined : text;
  };
  const defaults: EnvironmentDefaults = {};
  const problems: EnvironmentProblem[] = [];
  const user = value('PGUSER');
  if (user !== undefined) defaults.user = user;
  const password = value('PGPASSWORD');
  if (password !== undefined) defaults.password = password;
  const port = value('PGPORT');
  if (port !== undefined) {
    const parsed = Number(port);
    if (/^[0-9]+$/.test(port) && parsed >= 1 && parsed <= 65_535) defaults.port = parsed;
    else problems.push({ variable: 'PGPORT', message: `environment variable: must be an integer between 1 and 65535, got ${JSON.stringify(port)}` });
  }
  const sslmode = value('PGSSLMODE');
  if (sslmode !== undefined) {
    const mode = tlsFromSslMode(sslmode);
    if (mode === undefined) problems.push({ variable: 'PGSSLMODE', message: `environment variable: ${SSLMODE_PROBLEM}, got ${JSON.stringify(sslmode)}` });
    else defaults.ssl = mode;
  }
  const applicationName = value('PGAPPNAME');
  if (applicationName !== undefined) {
    if (isApplicationName(applicationName)) defaults.applicationName = applicationName;
    else problems.push({ variable: 'PGAPPNAME', message: `environment variable: ${APPLICATION_NAME_PROBLEM}` });
  }
  return { defaults, problems };
}
