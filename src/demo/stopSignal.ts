/**
 * Ctrl-C for the demo. The first SIGINT or SIGTERM asks for a clean stop (through
 * signals.ts); a repeat within REPEAT_WINDOW_MS is taken for the same keypress and ignored;
 * a signal after that ends the process at once, as signals.ts does.
 *
 * Why one keypress can arrive twice: a terminal sends SIGINT to every process of its
 * foreground group, and `npm start` forwards the SIGINT it receives to its child. When npm's
 * script shell runs the command in its own place (bash does; macOS's /bin/sh is bash), that
 * child is this process, and both signals arrive a few milliseconds apart.
 */
import { onShutdownSignal } from '../signals.js';

const REPEAT_WINDOW_MS = 500;
/** The exit code of a process ended by a second signal, as in signals.ts. */
const FORCED_EXIT_CODE = 130;

/**
 * Calls `handler` on the first SIGINT or SIGTERM. `onForcedExit` runs just before a later
 * signal ends the process (to say what is left behind). Returns the function that removes
 * the handlers.
 */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void, onForcedExit: () => void = () => {}): () => void {
  let remove = onShutdownSignal((signal) => {
    remove();
    const firstAt = Date.now();
    const again = (next: NodeJS.Signals): void => {
      if (Date.now() - firstAt < REPEAT_WINDOW_MS) return;
      process.stderr.write(`slate-replicator: second ${next}; exiting without waiting\n`);
      onForcedExit();
      process.exit(FORCED_EXIT_CODE);
    };
    process.on('SIGINT', again);
    process.on('SIGTERM', again);
    remove = () => {
      process.off('SIGINT', again);
      process.off('SIGTERM', again);
    };
    handler(signal);
  });
  return () => remove();
}
