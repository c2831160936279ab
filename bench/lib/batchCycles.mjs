/**
 * The replicator's statements, as the wire tap saw them, cut into its batch cycle: a batch's
 * COPY on the destination with the source's COPY beside it, the next batch's plan query on
 * the source (sent once the source's COPY is done), then COMMIT, which also opens the next
 * batch's transaction and reads the position (`COMMIT; BEGIN; SELECT max(id)`), up to the
 * next batch's COPY. The first batch opens with `BEGIN; SELECT max(id)` beside its plan.
 * A loop in sync writes without a plan: one statement that opens the transaction, checks
 * the position and copies, next to the source's COPY, then COMMIT (see inSyncWrites).
 */

/** What a statement is, in the words of the batch cycle. */
export function classify(text) {
  const t = text.trim();
  if (/limit_id|lead\(ts\) OVER/.test(t)) return 'plan';
  if (/^SELECT max\(id\)::text AS last_id, count\(\*\)/.test(t)) return 'transaction end';
  if (/^SELECT max\(id\)::text AS max_id FROM events$/.test(t)) return 'position';
  if (/^BEGIN/i.test(t) && /COPY events/i.test(t)) return 'in-sync write';
  if (/^BEGIN/i.test(t)) return /SELECT max\(id\)/i.test(t) ? 'BEGIN+position' : 'BEGIN';
  if (/^COMMIT; BEGIN/i.test(t)) return 'COMMIT+BEGIN+position';
  if (/^COMMIT/i.test(t)) return 'COMMIT';
  if (/^ROLLBACK/i.test(t)) return 'ROLLBACK';
  if (/^COPY \(SELECT/i.test(t)) return 'COPY out';
  if (/^COPY events/i.test(t)) return 'COPY in';
  if (/insert_events/.test(t)) return 'insert_events';
  return 'other';
}

function mean(values) {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function round(value, digits = 2) {
  return value === undefined ? undefined : Number(value.toFixed(digits));
}

/** Mean, median and 99th percentile of `values`, rounded. */
function spread(values) {
  return { mean: round(mean(values)), p50: round(percentile(values, 0.5)), p99: round(percentile(values, 0.99)) };
}

/** Milliseconds of [from, to] covered by at least one of `intervals`. */
function coveredMs(intervals, from, to) {
  const clipped = intervals
    .map(([a, b]) => [Math.max(a, from), Math.min(b, to)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = from;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/**
 * Batch cycles of the sessions `reader` and `writer`: a cycle runs from one batch's
 * `COPY ... FROM STDIN` to the next's. For each kind of statement, the mean time from
 * sending it to the server's ReadyForQuery; `clientMs` is the time in the cycle when
 * neither session had a statement in flight (the replicator's own work between statements
 * plus the trips to and from the server). With `notifications`, `notificationToPlanMs` is
 * the time from the oldest notification a plan answers to the plan's sending, and
 * `planToCommitDoneMs` the time from a plan's sending to the end of the commit of the batch
 * it planned.
 */
export function batchCycles(statements, { reader, writer, notifications = [] }) {
  const mine = statements
    .filter((s) => s.application === reader || s.application === writer)
    .map((s) => ({ ...s, kind: classify(s.text) }))
    .sort((a, b) => a.sentMs - b.sentMs);
  const copyIns = mine.filter((s) => s.kind === 'COPY in');
  const plans = mine.filter((s) => s.kind === 'plan');
  const commits = mine.filter((s) => s.kind === 'COMMIT' || s.kind === 'COMMIT+BEGIN+position');
  const cycles = [];
  for (let i = 0; i + 1 < copyIns.length; i += 1) {
    const copyIn = copyIns[i];
    const from = copyIn.sentMs;
    const to = copyIns[i + 1].sentMs;
    const inCycle = mine.filter((s) => s.sentMs >= from && s.sentMs < to);
    const copyOut = inCycle.find((s) => s.kind === 'COPY out');
    const byKind = {};
    for (const s of inCycle) byKind[s.kind] = (byKind[s.kind] ?? 0) + (s.doneMs - s.sentMs);
    const rows = Number(/^COPY (\d+)/.exec(copyIn.tag ?? '')?.[1] ?? 0);
    // The plan of this batch: the last one sent before its COPY; the oldest notification it
    // answers is the first one after the plan before it was sent.
    const planIndex = plans.findLastIndex((p) => p.sentMs < from);
    const plan = plans[planIndex];
    const previousPlanMs = planIndex > 0 ? plans[planIndex - 1].sentMs : -Infinity;
    const oldestPending = plan === undefined ? undefined : notifications.find((n) => n.atMs > previousPlanMs && n.atMs <= plan.sentMs);
    const commit = commits.find((c) => c.sentMs >= copyIn.doneMs);
    cycles.push({
      wallMs: to - from,
      rows,
      statements: inCycle.length,
      byKind,
      clientMs: to - from - coveredMs(inCycle.map((s) => [s.sentMs, s.doneMs]), from, to),
      copyInMessages: copyIn.copyMessages,
      copyInWaitMs: copyIn.copyStartedMs - copyIn.sentMs,
      copyInStreamMs: (copyIn.copyDoneSentMs ?? copyIn.doneMs) - copyIn.copyStartedMs,
      copyInFinishMs: copyIn.doneMs - (copyIn.copyDoneSentMs ?? copyIn.doneMs),
      copyOutSentAfterCopyInMs: copyOut === undefined ? undefined : copyOut.sentMs - copyIn.sentMs,
      copyOutFirstRowMs: copyOut === undefined ? undefined : copyOut.copyStartedMs - copyOut.sentMs,
      sinceNotificationMs: oldestPending === undefined ? undefined : plan.sentMs - oldestPending.atMs,
      planToCommitDoneMs: plan === undefined || commit === undefined ? undefined : commit.doneMs - plan.sentMs,
    });
  }
  const kinds = [...new Set(cycles.flatMap((c) => Object.keys(c.byKind)))];
  const valuesOf = (field) => cycles.map((c) => c[field]).filter((v) => v !== undefined);
  const meanOf = (field) => round(mean(valuesOf(field)));
  const spreadOf = (field) => spread(valuesOf(field));
  const wall = mean(cycles.map((c) => c.wallMs));
  const meanByKind = Object.fromEntries(kinds.map((k) => [k, round(mean(cycles.map((c) => c.byKind[k] ?? 0)))]));
  const p99ByKind = Object.fromEntries(kinds.map((k) => [k, round(percentile(cycles.map((c) => c.byKind[k] ?? 0), 0.99))]));
  const percentOfCycle = Object.fromEntries(Object.entries(meanByKind).map(([k, ms]) => [k, round((100 * ms) / wall, 1)]));
  return {
    cycles: cycles.length,
    meanRows: meanOf('rows'),
    meanStatements: meanOf('statements'),
    meanWallMs: round(wall),
    meanByKindMs: meanByKind,
    p99ByKindMs: p99ByKind,
    percentOfCycle,
    meanClientMs: meanOf('clientMs'),
    clientMs: spreadOf('clientMs'),
    clientPercent: round((100 * mean(cycles.map((c) => c.clientMs))) / wall, 1),
    copyIn: { copyDataMessages: meanOf('copyInMessages'), waitForCopyInResponseMs: meanOf('copyInWaitMs'), streamingMs: meanOf('copyInStreamMs'), afterCopyDoneMs: meanOf('copyInFinishMs') },
    copyOut: { sentAfterCopyInMs: meanOf('copyOutSentAfterCopyInMs'), firstRowAfterSendingMs: meanOf('copyOutFirstRowMs') },
    notificationToPlanMs: spreadOf('sinceNotificationMs'),
    planToCommitDoneMs: spreadOf('planToCommitDoneMs'),
    cycleWallMs: spreadOf('wallMs'),
  };
}

/**
 * The writes of a loop in sync: for each in-sync write statement of `writer`, the time from
 * the last notification before it to its sending, its own time (BEGIN to the end of the
 * COPY, which waits for the source's rows), the source's COPY next to it, and the commit.
 */
export function inSyncWrites(statements, { reader, writer, notifications = [] }) {
  const ofKind = (application, kind) =>
    statements.filter((s) => s.application === application && classify(s.text) === kind).sort((a, b) => a.sentMs - b.sentMs);
  const writes = ofKind(writer, 'in-sync write');
  const commits = ofKind(writer, 'COMMIT');
  const reads = ofKind(reader, 'COPY out');
  const found = writes.map((write, i) => {
    const nextWriteMs = writes[i + 1]?.sentMs ?? Infinity;
    const commit = commits.find((c) => c.sentMs >= write.doneMs && c.sentMs < nextWriteMs);
    const read = reads.filter((r) => r.sentMs <= write.doneMs).at(-1);
    const wokenBy = notifications.filter((n) => n.atMs <= write.sentMs).at(-1);
    return {
      rows: Number(/^COPY (\d+)/.exec(write.tag ?? '')?.[1] ?? 0),
      notificationToWriteMs: wokenBy === undefined ? undefined : write.sentMs - wokenBy.atMs,
      writeMs: write.doneMs - write.sentMs,
      readMs: read === undefined ? undefined : read.doneMs - read.sentMs,
      commitMs: commit === undefined ? undefined : commit.doneMs - commit.sentMs,
      notificationToCommitDoneMs: wokenBy === undefined || commit === undefined ? undefined : commit.doneMs - wokenBy.atMs,
    };
  });
  const spreadOf = (field) => spread(found.map((w) => w[field]).filter((v) => v !== undefined));
  return {
    writes: found.length,
    committed: found.filter((w) => w.commitMs !== undefined).length,
    meanRows: round(mean(found.map((w) => w.rows))),
    notificationToWriteMs: spreadOf('notificationToWriteMs'),
    writeMs: spreadOf('writeMs'),
    sourceCopyMs: spreadOf('readMs'),
    commitMs: spreadOf('commitMs'),
    notificationToCommitDoneMs: spreadOf('notificationToCommitDoneMs'),
  };
}

/** How many statements of each kind each session sent, and their mean time to ReadyForQuery. */
export function statementCounts(statements, applications) {
  const out = {};
  for (const s of statements) {
    if (!applications.includes(s.application)) continue;
    const key = `${s.application}: ${classify(s.text)}`;
    out[key] ??= { count: 0, meanMs: 0 };
    out[key].meanMs += s.doneMs - s.sentMs;
    out[key].count += 1;
  }
  for (const value of Object.values(out)) value.meanMs = round(value.meanMs / value.count, 3);
  return out;
}
