/**
 * The one place that handles SIGINT and SIGTERM: the first asks for a clean stop, a later
 * one (an impatient operator or supervisor) ends the process at once with code 130.
 *
 * A repeat within REPEAT_WINDOW_MS is taken for the same request and ignored: a terminal
 * sends Ctrl-C's SIGINT to its whole foreground group, and `npm start` forwards the one it
 * receives to its child, so a child that is this process sees one keypress twice, a few
 * milliseconds apart.
 */
export const REPEAT_WINDOW_MS = 500;
export const FORCED_EXIT_CODE = 130;

export interface ShutdownSignalOptions {
  /** Runs just before a later signal ends the process (to say what is left behind). */
  onForcedExit?: () => void;
}

export function onShutdownSignal(
  handler: (signal: NodeJS.Signals) => void,
  options: ShutdownSignalOptions = {},
): () => void {
  let firstAt: number | undefined;
  const listener = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      handler(signal);
      return;
    }
    if (Date.now() - firstAt < REPEAT_WINDOW_MS) return;
    process.stderr.write(`slate-replicator: second ${signal}; exiting without waiting\n`);
    options.onForcedExit?.();
    process.exit(FORCED_EXIT_CODE);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}
