/**
 * A loop's alarm clock: `wait(ms)` ends after `ms`, or at once when `nudge()` was called
 * since the last `take()` (a wake-up that arrived while the loop was busy is kept, however
 * many arrived: they coalesce into one), or when `cancel()` is called for good.
 */
export class Wake {
  private pending = false;
  private cancelled = false;
  private resolveWait: (() => void) | undefined;

  /** Asks the loop to look at the source again as soon as it can. */
  nudge(): void {
    this.pending = true;
    this.resolveWait?.();
  }

  /** Ends every present and future wait at once. */
  cancel(): void {
    this.cancelled = true;
    this.resolveWait?.();
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  /** Consumes the pending wake-up, if any; called right before the loop reads the source. */
  take(): boolean {
    const was = this.pending;
    this.pending = false;
    return was;
  }

  /** Waits up to `ms`; a nudge ends it early only if `nudgeable` (a retry backoff is not cut short). */
  wait(ms: number, nudgeable = true): Promise<void> {
    if (this.cancelled || (nudgeable && this.pending)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.resolveWait = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.resolveWait = () => {
        if (this.cancelled || nudgeable) done();
      };
    });
  }
}
