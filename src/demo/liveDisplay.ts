/**
 * The demo's live lines: one for the source, one per destination, refreshed once a second.
 * On a terminal the block is redrawn in place; otherwise (a pipe, a file, CI) every refresh
 * is printed as plain lines. Messages (`note`) go above the block.
 */
import type { DestinationStatus } from '../replication/destinationLoop.js';

/** The stream the display writes to: a terminal (`isTTY`, `columns`) or anything else. */
export interface DisplayStream {
  write(text: string): boolean;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface DemoFigures {
  elapsedSeconds: number;
  /** Events the load generator has committed to the source. */
  eventsWritten: number;
  destinations: DestinationStatus[];
}

/** Moves the cursor to the start of the line `n` lines up (CSI n F). */
const cursorUp = (n: number): string => `\x1b[${n}F`;
/** Clears from the cursor to the end of the screen (CSI J). */
const CLEAR_DOWN = '\x1b[J';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The part of `host:port/databaseName` a person tells the destinations apart by. */
function shortName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** A rate over less time than this is mostly noise: the previous one is shown instead. */
const MIN_RATE_INTERVAL_SECONDS = 0.5;

/** Turns a running total into a per-second rate between two refreshes. */
class RateMeter {
  private last: { value: number; atSeconds: number } | undefined;
  private rate = 0;

  perSecond(value: number, atSeconds: number): number {
    const last = this.last;
    if (last === undefined) {
      this.last = { value, atSeconds };
    } else if (atSeconds - last.atSeconds >= MIN_RATE_INTERVAL_SECONDS) {
      this.rate = (value - last.value) / (atSeconds - last.atSeconds);
      this.last = { value, atSeconds };
    }
    return this.rate;
  }
}

export class LiveDisplay {
  private readonly live: boolean;
  private drawn: string[] = [];
  private readonly sourceRate = new RateMeter();
  private readonly destinationRates = new Map<string, RateMeter>();

  constructor(private readonly out: DisplayStream) {
    this.live = out.isTTY === true;
  }

  /** The lines for one refresh (exported through the class for tests and the summary). */
  lines(figures: DemoFigures): string[] {
    const names = figures.destinations.map((d) => shortName(d.name));
    const width = Math.max('source'.length, ...names.map((name) => name.length));
    const time = `[${String(Math.floor(figures.elapsedSeconds)).padStart(4)} s]`;
    const eventsPerSecond = this.sourceRate.perSecond(figures.eventsWritten, figures.elapsedSeconds);
    const lines = [
      `${time} ${'source'.padEnd(width)}  written  ${count(figures.eventsWritten).padStart(9)}  ` +
        `${count(eventsPerSecond).padStart(7)} events/s`,
    ];
    figures.destinations.forEach((d, i) => {
      let meter = this.destinationRates.get(d.name);
      if (meter === undefined) {
        meter = new RateMeter();
        this.destinationRates.set(d.name, meter);
      }
      const rowsPerSecond = meter.perSecond(d.eventsCopied, figures.elapsedSeconds);
      lines.push(
        `${time} ${(names[i] ?? d.name).padEnd(width)}  position ${count(d.position).padStart(9)}  ` +
          `lag ${count(d.lagEvents).padStart(6)} events ${count(d.lagMs).padStart(6)} ms  ` +
          `${count(rowsPerSecond).padStart(7)} rows/s  ${d.state}`,
      );
    });
    return lines;
  }

  /** Shows the figures: redrawn in place on a terminal, printed as new lines otherwise. */
  update(figures: DemoFigures): void {
    const lines = this.lines(figures);
    if (!this.live) {
      this.out.write(`${lines.join('\n')}\n`);
      return;
    }
    this.out.write(this.erase() + this.render(lines));
    this.drawn = lines;
  }

  /** A message above the live lines (which stay below it on a terminal). */
  note(text: string): void {
    const message = text.endsWith('\n') ? text : `${text}\n`;
    if (!this.live || this.drawn.length === 0) {
      this.out.write(message);
      return;
    }
    this.out.write(this.erase() + message + this.render(this.drawn));
  }

  private erase(): string {
    return this.drawn.length === 0 ? '' : cursorUp(this.drawn.length) + CLEAR_DOWN;
  }

  /** Lines cut to the terminal's width: a wrapped line would break the count of lines to redraw. */
  private render(lines: string[]): string {
    const columns = this.out.columns;
    const fit = (line: string): string => (columns !== undefined && columns > 1 && line.length >= columns ? line.slice(0, columns - 1) : line);
    return lines.map((line) => `${fit(line)}\n`).join('');
  }
}
