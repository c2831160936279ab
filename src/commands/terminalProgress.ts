/**
 * A progress line for long commands (verify, restore): redrawn in place on stderr at most
 * every PROGRESS_INTERVAL_MS when stderr is a terminal; nothing at all otherwise, so logs
 * and pipes stay clean.
 */
const PROGRESS_INTERVAL_MS = 250;

export interface TerminalProgress<T> {
  update(progress: T): void;
  clear(): void;
}

export function terminalProgress<T>(format: (progress: T) => string): TerminalProgress<T> {
  const stream = process.stderr;
  if (!stream.isTTY) return { update: () => {}, clear: () => {} };
  let lastDrawnAt = 0;
  let drawn = false;
  return {
    update(progress) {
      const now = Date.now();
      if (now - lastDrawnAt < PROGRESS_INTERVAL_MS) return;
      lastDrawnAt = now;
      drawn = true;
      stream.write(`\r\x1b[K${format(progress).slice(0, Math.max(20, (stream.columns ?? 80) - 1))}`);
    },
    clear() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
