/**
 * verify's output for people: one line per destination and a summary line, and the
 * one-line progress shown on a terminal while it runs.
 */
import type { DestinationProgress, DestinationVerdict, VerifyReport } from './verifyDestinations.js';

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function ids(upToId: number): string {
  return upToId === 0 ? 'no events' : `ids 1..${upToId}`;
}

export function describeVerdict(verdict: DestinationVerdict): string {
  const lag = `lag ${count(verdict.lagEvents)} event${verdict.lagEvents === 1 ? '' : 's'} (source max id ${verdict.sourceMaxId})`;
  if (verdict.equal) {
    return `${verdict.label}: equal, ${ids(verdict.upToId)} compared in ${verdict.seconds.toFixed(1)} s; ${lag}`;
  }
  const difference = verdict.difference;
  const before = verdict.equalUpToId > 0 ? `; ids 1..${verdict.equalUpToId} are equal` : '';
  return `${verdict.label}: DIFFERS at id ${difference?.id ?? '?'}: ${difference?.detail ?? 'unknown'}${before}; ${lag}`;
}

export function formatReport(report: VerifyReport): string {
  const lines = report.destinations.map(describeVerdict);
  const differing = report.destinations.filter((d) => !d.equal).length;
  const total = report.destinations.length;
  lines.push(
    differing === 0
      ? `verify: ${total === 1 ? 'the destination equals' : `all ${total} destinations equal`} the source (${report.seconds.toFixed(1)} s)`
      : `verify: ${differing} of ${total} destination${total === 1 ? '' : 's'} ${differing === 1 ? 'differs' : 'differ'} from the source`,
  );
  return `${lines.join('\n')}\n`;
}

/** `verify: replicationDestinations[0] 45% · replicationDestinations[1] 38%` (labels without their address). */
export function formatProgress(progress: readonly DestinationProgress[]): string {
  const parts = progress.map((p) => {
    const name = p.label.replace(/ \(.*\)$/, '');
    const percent = p.upToId === 0 ? 0 : Math.floor((100 * p.comparedUpToId) / p.upToId);
    return `${name} ${percent}% of ${count(p.upToId)}`;
  });
  return `verify: ${parts.join(' · ')}`;
}
