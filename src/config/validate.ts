/**
 * Validation of a configuration value, wherever it came from: pure, so tests and the file
 * loader share it.
 */
import { ConfigError } from '../errors.js';
import type { ReplicatorConfig } from '../types.js';
import { describeValue } from './describeValue.js';
import { problemsFromIssues } from './problems.js';
import type { Environment } from './environment.js';
import { makeConfigSchema } from './schema.js';

/**
 * The resolved configuration (every default applied), or a ConfigError that lists every
 * problem found in `input`. `sourceName` says where `input` came from (a file's absolute
 * path) and starts the error's message. `env` gives the PG* defaults (see environment.ts);
 * it is empty unless passed, so validation stays pure.
 */
export function validateConfig(input: unknown, sourceName: string, env: Environment = {}): ReplicatorConfig {
  // A value that is not an object at all gets one problem, not one "required" per key.
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(sourceName, [
      {
        path: '',
        message: `the configuration must be an object with eventSource and replicationDestinations, got ${describeValue(input)}`,
      },
    ]);
  }
  const schema = makeConfigSchema(env);
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(sourceName, problemsFromIssues(result.error.issues, schema));
  // The schema's output type is checked against ReplicatorConfig here, at compile time.
  return result.data;
}
