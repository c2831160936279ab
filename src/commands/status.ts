/**
 * `slate-replicator status -c config.js [--json]`: each destination's position and lag
 * against the source, read once from the databases themselves (no running replicator
 * needed). Exit code 0 when every destination holds exactly the source's events, 7 when
 * any lags, 6 when one is ahead of the source; a database that cannot be read gives its
 * connection code (3, 4 or 5), after the table is printed.
 */
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ConfigError, DivergenceError, ExitCode, ReplicatorError, coerceError } from '../errors.js';
import { describeDatabase } from '../types.js';
import { fetchTableEnd, lagBetween } from '../status/positions.js';
import type { DestinationLine, PositionsReport } from '../status/statusReport.js';
import { formatTable } from '../status/statusReport.js';

export interface StatusCommandOptions {
  configFilename?: string;
  json?: boolean;
}

export async function statusAction(options: StatusCommandOptions): Promise<void> {
  if (options.configFilename === undefined) {
    throw new ConfigError('the command line', [
      { path: '--config-filename', message: 'required: name the configuration file with -c <file>' },
    ]);
  }
  const config = await loadConfig(options.configFilename);
  const timeout = config.connectTimeout;
  // The source first: without it there is nothing to compare with (its failure is the exit code).
  const [sourceEnd, ...destinationEnds] = await Promise.allSettled([
    fetchTableEnd(config.eventSource, timeout, true),
    ...config.replicationDestinations.map((db) => fetchTableEnd(db, timeout, false)),
  ]);
  if (sourceEnd === undefined || sourceEnd.status === 'rejected') throw sourceEnd?.reason;
  const source = sourceEnd.value;
  const failures: Error[] = [];
  const destinations = config.replicationDestinations.map((db, i): DestinationLine => {
    const name = describeDatabase(db);
    const end = destinationEnds[i];
    if (end === undefined || end.status === 'rejected') {
      const error = coerceError(end?.reason);
      failures.push(error);
      return { name, position: null, lastTs: null, lagEvents: null, lagSeconds: null, state: 'unreachable', error: error.message };
    }
    const lag = lagBetween(source, end.value);
    return { name, position: end.value.maxId, lastTs: end.value.lastTs, lagEvents: lag.lagEvents, lagSeconds: lag.lagSeconds, state: lag.state };
  });
  const report: PositionsReport = {
    source: { name: describeDatabase(config.eventSource), maxId: source.maxId, newestTs: source.lastTs },
    destinations,
    inSync: destinations.every((d) => d.state === 'in-sync'),
  };
  process.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));

  const failure = failures[0];
  if (failure !== undefined) throw failure;
  const ahead = destinations.filter((d) => d.state === 'ahead');
  if (ahead.length > 0) {
    throw new DivergenceError(
      `${ahead.map((d) => d.name).join(', ')} ${ahead.length === 1 ? 'has' : 'have'} more events than the source: ` +
        'not a copy of this source. Check the configuration, or rebuild the destination.',
    );
  }
  const lagging = destinations.filter((d) => d.state === 'lagging');
  if (lagging.length > 0) {
    throw new ReplicatorError(
      `${lagging.length} of ${destinations.length} destination${destinations.length === 1 ? '' : 's'} lag${lagging.length === 1 ? 's' : ''} the source`,
      { exitCode: ExitCode.lagging },
    );
  }
}

export function statusCommand(): Command {
  return new Command('status')
    .description(
      'Print each destination\'s position and lag against the source, read from the databases once; ' +
        `exit ${ExitCode.ok} when all are in sync, ${ExitCode.lagging} when any lags.`,
    )
    .option('-c, --config-filename <file>', 'configuration file naming the source and the destinations')
    .option('--json', 'print JSON instead of a table')
    .helpOption('-h, --help', 'print this help and exit')
    .showHelpAfterError('(run with --help for usage)')
    // Commands added with addCommand do not inherit exitOverride: without it commander would
    // end the process itself, with its own exit code, on a usage error.
    .exitOverride()
    // The program's own -c may take the option after the subcommand name: read both.
    .action((_options: StatusCommandOptions, command: Command) => statusAction(command.optsWithGlobals<StatusCommandOptions>()));
}
