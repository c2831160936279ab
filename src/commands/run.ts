/**
 * The replicator's main job, reached as `slate-replicator -c config.js [--dry-run]`.
 */
import { ConfigError } from '../errors.js';

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
  throw new Error('not wired yet');
}
