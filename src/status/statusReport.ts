/**
 * The result of `slate-replicator status`, as JSON (--json) or as a table for people.
 */
import type { DestinationState } from './positions.js';

export interface SourceLine {
  name: string;
  maxId: number;
  newestTs: string | null;
}

export interface DestinationLine {
  name: string;
  /** The destination's max id; null when it could not be read. */
  position: number | null;
  lastTs: string | null;
  lagEvents: number | null;
  lagSeconds: number | null;
  state: DestinationState | 'unreachable';
  /** Why the destination could not be read. */
  error?: string;
}

export interface PositionsReport {
  source: SourceLine;
  destinations: DestinationLine[];
  /** Every destination read and holding exactly the source's events. */
  inSync: boolean;
}

const STATE_WORDS: Record<DestinationLine['state'], string> = {
  'in-sync': 'in sync',
  lagging: 'lagging',
  ahead: 'AHEAD of the source',
  unreachable: 'unreachable',
};

function cell(value: number | null, digits = 0): string {
  return value === null ? '-' : value.toFixed(digits);
}

/** A fixed-width table, numbers right-aligned, with the source on the first line. */
export function formatTable(report: PositionsReport): string {
  const header = ['destination', 'position', 'lag events', 'lag seconds', 'state'];
  const rows = report.destinations.map((d) => [d.name, cell(d.position), cell(d.lagEvents), cell(d.lagSeconds, 3), STATE_WORDS[d.state]]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    row
      .map((text, i) => (i === 0 || i === row.length - 1 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const newest = report.source.newestTs === null ? 'no events' : `newest event ${report.source.newestTs}`;
  const out = [`source ${report.source.name}: max id ${report.source.maxId}, ${newest}`, '', line(header), ...rows.map(line)];
  for (const d of report.destinations) if (d.error !== undefined) out.push('', `${d.name}: ${d.error}`);
  return `${out.join('\n')}\n`;
}
