/**
 * `slate-replicator restore`: rebuilds a lost source from one of its destinations into a
 * new, empty source database (see restore/restoreSource.ts).
 *
 *   slate-replicator restore -c config.js [--from-destination <index>] [--to <postgres-uri>]
 *   slate-replicator restore --from <postgres-uri> --to <postgres-uri>
 *
 * With -c, the events come from the configuration's destination number <index> (which may
 * be left out when there is only one) and go to its eventSource, unless --to names another
 * database: after a source is lost, the usual way is to make a new one where the
 * configuration already points (`init-db --type source`), restore, and start the replicator
 * again, unchanged.
 */
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { ConfigProblem } from '../errors.js';
import { describeDatabase } from '../types.js';
import { restoreSource } from '../restore/restoreSource.js';
import type { RestoreProgress, RestoreTarget } from '../restore/restoreSource.js';
import { databaseFromUrl } from './load.js';
import { terminalProgress } from './terminalProgress.js';

/** Milliseconds to wait for a connection given by a URL (with -c, the configuration's connectTimeout). */
const URL_CONNECT_TIMEOUT_MS = 10_000;
/** Milliseconds between redraws of the progress line. */
const INTEGER = /^[0-9]+$/;

export interface RestoreCommandOptions {
  configFilename?: string;
  fromDestination?: string;
  from?: string;
  to?: string;
}

/** Where to copy from and to, every option checked and every problem reported at once. */
export async function resolveRestoreOptions(
  options: RestoreCommandOptions,
): Promise<{ from: RestoreTarget; to: RestoreTarget; connectTimeoutMs: number }> {
  const problems: ConfigProblem[] = [];
  if (options.from !== undefined && options.fromDestination !== undefined) {
    problems.push({ path: '--from', message: 'give either --from or --from-destination, not both' });
  }
  if (options.configFilename === undefined) {
    if (options.fromDestination !== undefined) {
      problems.push({ path: '--from-destination', message: 'names a destination of a configuration: give it with -c <file>' });
    }
    if (options.from === undefined) {
      problems.push({ path: '--from', message: 'required: the destination to restore from, as --from <postgres-uri> or -c <file>' });
    }
    if (options.to === undefined) {
      problems.push({ path: '--to', message: 'required: the new source, as --to <postgres-uri> or -c <file> (its eventSource)' });
    }
  }
  let index: number | undefined;
  if (options.fromDestination !== undefined) {
    if (INTEGER.test(options.fromDestination)) index = Number(options.fromDestination);
    else problems.push({ path: '--from-destination', message: `must be a destination's index (0, 1, ...), got ${JSON.stringify(options.fromDestination)}` });
  }
  const fromUrl = options.from === undefined ? undefined : databaseFromUrl(options.from, '--from', problems);
  const toUrl = options.to === undefined ? undefined : databaseFromUrl(options.to, '--to', problems);
  if (problems.length > 0) throw new ConfigError('the command line', problems);

  const config = options.configFilename === undefined ? undefined : await loadConfig(options.configFilename);
  let from: RestoreTarget | undefined;
  if (fromUrl !== undefined) {
    from = { db: fromUrl, label: `--from (${describeDatabase(fromUrl)})` };
  } else if (config !== undefined) {
    const destinations = config.replicationDestinations;
    if (index === undefined && destinations.length > 1) {
      problems.push({
        path: '--from-destination',
        message: `required: the configuration has ${destinations.length} destinations; choose one (0 to ${destinations.length - 1}), ideally the one verify found equal with the least lag`,
      });
    } else if (index !== undefined && index >= destinations.length) {
      problems.push({ path: '--from-destination', message: `is ${index}, but the configuration's destinations are numbered 0 to ${destinations.length - 1}` });
    } else {
      const i = index ?? 0;
      const db = destinations[i];
      if (db !== undefined) from = { db, label: `replicationDestinations[${i}] (${describeDatabase(db)})` };
    }
  }
  const to: RestoreTarget | undefined =
    toUrl !== undefined
      ? { db: toUrl, label: `--to (${describeDatabase(toUrl)})` }
      : config === undefined
        ? undefined
        : { db: config.eventSource, label: `eventSource (${describeDatabase(config.eventSource)})` };
  if (problems.length > 0 || from === undefined || to === undefined) throw new ConfigError('the command line', problems);
  return { from, to, connectTimeoutMs: config?.connectTimeout ?? URL_CONNECT_TIMEOUT_MS };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function formatRestoreProgress(progress: RestoreProgress): string {
  return progress.phase === 'copying'
    ? `restore: copying, ${(progress.done / 1024 / 1024).toFixed(1)} MB`
    : `restore: verifying, ${Math.floor((100 * progress.done) / Math.max(1, progress.total ?? 1))}% of ${count(progress.total ?? 0)} ids`;
}

export async function restoreAction(options: RestoreCommandOptions): Promise<void> {
  const input = await resolveRestoreOptions(options);
  const progress = terminalProgress(formatRestoreProgress);
  try {
    const result = await restoreSource(input, {
      onStart: (events) =>
        process.stdout.write(`restore: copying ${count(events)} events from ${input.from.label} into ${input.to.label}\n`),
      onProgress: (p) => progress.update(p),
    });
    progress.clear();
    process.stdout.write(
      `restore: copied ${count(result.events)} events in ${result.copySeconds.toFixed(1)} s and verified them in ` +
        `${result.verifySeconds.toFixed(1)} s; the next id is ${result.nextId}. ${input.to.label} is ready: ` +
        'point eventSource at it and start the replicator.\n',
    );
  } finally {
    progress.clear();
  }
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description(
      'Rebuild a lost source from a destination: copy every event into a new, empty source made by ' +
        '`init-db --type source`, set its next id, and verify the copy; all in one transaction.',
    )
    .option('-c, --config-filename <file>', "configuration file: copy from one of its destinations into its eventSource")
    .option('--from-destination <index>', "the configuration's destination to copy from (0, 1, ...; may be left out when there is only one)")
    .option('--from <postgres-uri>', 'the destination to copy from, as postgres://user:password@host:port/database (instead of -c)')
    .option('--to <postgres-uri>', "the new, empty source to copy into (default with -c: the configuration's eventSource)")
    .helpOption('-h, --help', 'print this help and exit')
    .addHelpText(
      'after',
      '\nExit codes: 0 restored and verified; 2 invalid options; 3 a database unreachable or the connection lost\n' +
        '(nothing committed); 4 login refused; 5 the target is not a source, or is not empty; 6 the destination has\n' +
        'gaps, or the copy did not verify (rolled back); 1 anything else.\n',
    )
    .showHelpAfterError('(run slate-replicator restore --help for usage)')
    // Subcommands do not inherit exitOverride: without it commander would exit by itself on a usage error.
    .exitOverride()
    // The program's own -c may take the option when it follows the subcommand: read both.
    .action((_options: RestoreCommandOptions, command: Command) => restoreAction(command.optsWithGlobals<RestoreCommandOptions>()));
}
