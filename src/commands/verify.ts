/**
 * `slate-replicator verify -c config.js`: proves that every destination of a configuration
 * equals its source over the ids both have (see verify/verifyDestinations.ts). Exit 0 when
 * all are equal, 6 when any differs; connection, login and schema problems keep their own
 * codes. Reads only, and may run while the replicator and the application write.
 */
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ConfigError, DivergenceError } from '../errors.js';
import { formatProgress, formatReport } from '../verify/report.js';
import { targetsOf, verifyDestinations } from '../verify/verifyDestinations.js';
import { terminalProgress } from './terminalProgress.js';

/** Milliseconds between redraws of the progress line. */

export interface VerifyCommandOptions {
  configFilename?: string;
  json?: boolean;
}

export async function verifyAction(options: VerifyCommandOptions): Promise<void> {
  if (options.configFilename === undefined) {
    throw new ConfigError('the command line', [
      { path: '--config-filename', message: 'required: name the configuration file with -c <file>' },
    ]);
  }
  const config = await loadConfig(options.configFilename);
  const progress = terminalProgress(formatProgress);
  let report;
  try {
    report = await verifyDestinations(
      { ...targetsOf(config), connectTimeoutMs: config.connectTimeout },
      { onProgress: (p) => progress.update(p) },
    );
  } finally {
    progress.clear();
  }
  process.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  const differing = report.destinations.filter((d) => !d.equal);
  if (differing.length > 0) {
    throw new DivergenceError(
      `${differing.length} destination${differing.length === 1 ? '' : 's'} ${differing.length === 1 ? 'differs' : 'differ'} from the source: ` +
        `${differing.map((d) => `${d.label} at id ${d.difference?.id}`).join(', ')}. ` +
        'Find out what else writes into it; then rebuild it (empty it and let the replicator refill it).',
    );
  }
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description(
      'Prove that every destination equals the source over the ids both have, by hashes computed inside ' +
        'PostgreSQL; rows the replicator has yet to copy are reported as lag. Reads only.',
    )
    .option('-c, --config-filename <file>', 'configuration file naming the source and the destinations')
    .option('--json', 'print the report as JSON instead of lines')
    .helpOption('-h, --help', 'print this help and exit')
    .addHelpText(
      'after',
      '\nExit codes: 0 every destination equals the source; 6 a destination differs (the first differing id is\n' +
        'printed); 2 invalid configuration; 3 a database unreachable; 4 login refused; 5 a database is not a\n' +
        'slate source or destination; 1 anything else.\n',
    )
    .showHelpAfterError('(run slate-replicator verify --help for usage)')
    // Subcommands do not inherit exitOverride: without it commander would exit by itself on a usage error.
    .exitOverride()
    // The program's own -c may take the option when it follows the subcommand: read both.
    .action((_options: VerifyCommandOptions, command: Command) => verifyAction(command.optsWithGlobals<VerifyCommandOptions>()));
}
