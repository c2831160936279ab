/**
 * The replicator's main job, reached as `slate-replicator -c config.js [--dry-run]
 * [--http-port <n>] [--log-level <level>] [--log-format json|pretty]`.
 */
import { describeConfig } from '../config/describeConfig.js';
import { loadConfig } from '../config/load.js';
import { DEFAULT_HTTP_HOST } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import type { LogFormat, LogLevel } from '../log.js';
import type { ReplicatorConfig } from '../types.js';
import { replicate } from './replicate.js';

export interface RunOptions {
  configFilename?: string;
  dryRun?: boolean;
  /** Already checked by the command line parser (an integer 1..65535). */
  httpPort?: number;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
}

/** --http-port wins over the file's http.port (and turns the status server on). */
export function withCommandLine(config: ReplicatorConfig, options: RunOptions): ReplicatorConfig {
  if (options.httpPort === undefined) return config;
  return { ...config, http: { host: config.http?.host ?? DEFAULT_HTTP_HOST, port: options.httpPort } };
}

export async function runAction(options: RunOptions): Promise<void> {
  if (options.configFilename === undefined) {
    throw new ConfigError('the command line', [
      { path: '--config-filename', message: 'required: name the configuration file with -c <file>' },
    ]);
  }
  // A ConfigError lists every problem of the file; cli.ts prints it and exits 2.
  const config = withCommandLine(await loadConfig(options.configFilename), options);
  if (options.dryRun === true) {
    // Validation only: nothing below this point (no connection) may run for --dry-run.
    process.stdout.write(describeConfig(config));
    return;
  }
  await replicate(config, createLogger({ level: options.logLevel, format: options.logFormat }));
}
