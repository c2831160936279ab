/**
 * The replicator under test as its users run it: `node dist/cli.js -c <config>` in a child
 * process, which a scenario kills with SIGKILL and starts again, the way a supervisor would.
 * Every run's output is kept, to look for log lines and passwords afterwards.
 *
 * An exit nobody asked for is a failure of the scenario, with one exception a supervisor
 * also makes: exit code 3 (a database unreachable at start-up, e.g. a server restarting
 * while the replicator starts) is followed by a new start a second later.
 */
import { logRecords, spawnCli } from '../helpers/replicator.js';
import type { CliRun } from '../helpers/replicator.js';

/** What a supervisor waits before starting the replicator again after exit code 3. */
const RESTART_AFTER_UNREACHABLE_MS = 1000;
const UNREACHABLE_AT_START = 3;

export interface FinishedRun {
  code: number | string;
  stdout: string;
  stderr: string;
  /** Killed or stopped by the scenario. */
  expected: boolean;
}

export class ReplicatorProcess {
  private current: CliRun | undefined;
  private expectingExit = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly finished: FinishedRun[] = [];
  /** Killed for good by a scenario that wants one replicator fewer; finish() leaves it out. */
  stoppedForGood = false;
  kills = 0;
  starts = 0;
  restartsAfterUnreachable = 0;

  constructor(private readonly configFile: string) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  /** The child process's pid, while it runs. */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  start(): void {
    if (this.current !== undefined || this.stopped || this.stoppedForGood) return;
    const run = spawnCli(['-c', this.configFile]);
    this.current = run;
    this.starts += 1;
    this.expectingExit = false;
    void run.exited.then((code) => {
      const expected = this.expectingExit;
      this.finished.push({ code, stdout: run.stdout(), stderr: run.stderr(), expected });
      if (this.current === run) this.current = undefined;
      if (!expected && code === UNREACHABLE_AT_START && !this.stopped) {
        this.restartsAfterUnreachable += 1;
        this.restartTimer = setTimeout(() => this.start(), RESTART_AFTER_UNREACHABLE_MS);
      }
    });
  }

  /** SIGKILL: no chance to finish anything. Resolves once the process is gone. */
  async kill9(): Promise<void> {
    const run = this.current;
    if (run === undefined) return;
    this.expectingExit = true;
    run.child.kill('SIGKILL');
    await run.exited;
    this.kills += 1;
  }

  /** SIGTERM and no more restarts; resolves with the exit code (0 after a clean stop). */
  async stop(): Promise<number | string | undefined> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const run = this.current;
    if (run === undefined) return undefined;
    this.expectingExit = true;
    run.child.kill('SIGTERM');
    return run.exited;
  }

  /** Exits the scenario did not cause, other than the unreachable-at-start-up ones a supervisor retries. */
  unexpectedExits(): FinishedRun[] {
    return this.finished.filter((run) => !run.expected && run.code !== UNREACHABLE_AT_START);
  }

  /** Everything every run wrote, stdout and stderr. */
  output(): string {
    const runs = this.finished.map((run) => run.stdout + run.stderr);
    if (this.current !== undefined) runs.push(this.current.stdout() + this.current.stderr());
    return runs.join('\n');
  }

  /** The JSON log records of the current run. */
  currentRecords(): Array<Record<string, unknown>> {
    return this.current === undefined ? [] : logRecords(this.current.stdout());
  }

  /** The JSON log records of every run. */
  records(): Array<Record<string, unknown>> {
    return logRecords(this.output());
  }
}
