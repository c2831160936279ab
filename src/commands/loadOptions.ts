/**
 * Checks of the options that shape a load (`load` and the embedded `demo`): each adds its
 * problems to the list it is given, so a command reports every problem at once.
 */
import type { ConfigProblem } from '../errors.js';

/** One insert_events call's text is held in memory on both sides (~400 bytes an event). */
export const MAX_TRANSACTION_SIZE = 100_000;
const INTEGER = /^[0-9]+$/;
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/** A positive integer or decimal option, or undefined when absent or invalid (then a problem is added). */
export function positiveOption(
  value: string | undefined,
  path: string,
  kind: 'integer' | 'number',
  problems: ConfigProblem[],
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!(kind === 'integer' ? INTEGER : DECIMAL).test(value) || !(parsed > 0) || !Number.isSafeInteger(Math.ceil(parsed))) {
    problems.push({ path, message: `must be a positive ${kind}, got ${JSON.stringify(value)}` });
    return undefined;
  }
  return parsed;
}

export interface LoadShapeOptions {
  rate?: string | undefined;
  transactionSize?: string | undefined;
  seed?: string | undefined;
}

export interface LoadShape {
  rateEventsPerSecond: number | undefined;
  transactionSize: number | undefined;
  seed: number | undefined;
}

/** `--rate`, `--transaction-size` and `--seed`, checked; absent or invalid ones are undefined. */
export function loadShape(options: LoadShapeOptions, problems: ConfigProblem[]): LoadShape {
  const rateEventsPerSecond = positiveOption(options.rate, '--rate', 'number', problems);
  const transactionSize = positiveOption(options.transactionSize, '--transaction-size', 'integer', problems);
  if (transactionSize !== undefined && transactionSize > MAX_TRANSACTION_SIZE) {
    problems.push({ path: '--transaction-size', message: `must be at most ${MAX_TRANSACTION_SIZE}, got ${transactionSize}` });
  }
  let seed: number | undefined;
  if (options.seed !== undefined) {
    seed = Number(options.seed);
    if (!INTEGER.test(options.seed) || !Number.isSafeInteger(seed)) {
      problems.push({ path: '--seed', message: `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${JSON.stringify(options.seed)}` });
      seed = undefined;
    }
  }
  return { rateEventsPerSecond, transactionSize, seed };
}
