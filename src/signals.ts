/**
 * The one place that handles SIGINT and SIGTERM: the first asks for a clean stop, a second
 * one (an impatient operator or supervisor) ends the process at once.
 */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  let received = false;
  const listener = (signal: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`slate-replicator: second ${signal}; exiting without waiting\n`);
      process.exit(130);
    }
    received = true;
    handler(signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}
