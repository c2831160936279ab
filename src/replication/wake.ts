/**
 * A loop's alarm clock: `wait(ms)` ends after `ms`, or at once when `nudge()` was called
 * since the last `take()` (a wake-up that arrived while the loop was busy is kept, however
 * many arrived: they coalesce into one), or when `cancel()` is called for good.
 *
 * A wake-up may announce the last id it is about; one whose id the loop has already copied
 * (`copiedUpTo()`, checked when the loop would act on it) is spent: its rows came with an
 * earlier read, and it starts no write.
 */
export class Wake {
  /** Highest id announced since the last take(): 0 when none arrived, Infinity when one announced none. */
  private pendingUpTo = 0;
  private cancelled = false;
  private resolveWait: (() => void) | undefined;

  constructor(private readonly copiedUpTo: () => number = () => 0) {}

  private get pending(): boolean {
    return this.pendingUpTo > this.copiedUpTo();
  }

  /** Asks the loop to look at the source again as soon as it can (rows up to `announcedId` are committed). */
  nudge(announcedId = Number.POSITIVE_INFINITY): void {
    this.pendingUpTo = Math.max(this.pendingUpTo, announcedId);
    if (this.pending) this.resolveWait?.();
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
    this.pendingUpTo = 0;
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
