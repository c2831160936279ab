/**
 * The replicator's main job, reached as `slate-replicator -c config.js [--dry-run]`.
 */
import { describeConfig } from '../config/describeConfig.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { replicate } from './replicate.js';

export interface RunOptions {
  configFilename?: string;
  dryRun?: boolean;
}

export async function runAction(options: RunOptions): Promise<void> {
  if (options.configFilename === undefined) {
    throw new ConfigError('the command line', [
      { path: '--config-filename', message: 'required: name the configuration file with -c <file>' },
    ]);
  }
  // A ConfigError lists every problem of the file; cli.ts prints it and exits 2.
  const config = await loadConfig(options.configFilename);
  if (options.dryRun === true) {
    // Validation only: nothing below this point (no connection) may run for --dry-run.
    process.stdout.write(describeConfig(config));
    return;
  }
  await replicate(config, createLogger());
}
