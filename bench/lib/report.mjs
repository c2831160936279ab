/**
 * From the runs' records to the figures: each the median of its runs, and each target as
 * the ratio of the replicator's figure to its reference, measured in the same run.
 */

export const RSS_LIMIT_MB = 80;

export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The figures: `records` maps a measurement's key to its runs' records. */
export function summarize(records) {
  const figure = (key, field) => {
    const runs = (records[key] ?? []).map((record) => record[field]);
    return { median: median(runs), runs };
  };
  const figures = {
    copyPipe1: figure('copyPipe1', 'eventsPerSecond'),
    logicalSync: figure('logicalSync', 'eventsPerSecond'),
    replicator1: figure('replicator1', 'eventsPerSecond'),
    replicator1AfterStartup: figure('replicator1', 'eventsPerSecondAfterStartup'),
    replicatorStartupMs: figure('replicator1', 'startupMs'),
    copyPipe2: figure('copyPipe2', 'eventsPerSecond'),
    replicator2: figure('replicator2', 'eventsPerSecond'),
    rss1: figure('replicator1', 'peakRssMB'),
    pipe1DestinationCpu: figure('copyPipe1', 'destinationBackendCpuSeconds'),
    pipe1SourceCpu: figure('copyPipe1', 'sourceBackendCpuSeconds'),
    pipe1ClientCpu: figure('copyPipe1', 'cpuSeconds'),
    replicator1DestinationCpu: figure('replicator1', 'destinationBackendCpuSeconds'),
    replicator1SourceCpu: figure('replicator1', 'sourceBackendCpuSeconds'),
    replicator1ClientCpu: figure('replicator1', 'cpuSeconds'),
    rss2: figure('replicator2', 'peakRssMB'),
  };
  for (const rate of ['1k', '10k']) {
    for (const method of ['logical', 'replicator', 'notify', 'pipe']) {
      const key = `lag_${method}_${rate}`;
      figures[`${key}_p50`] = figure(key, 'p50Ms');
      figures[`${key}_p99`] = figure(key, 'p99Ms');
      figures[`${key}_max`] = figure(key, 'maxMs');
      figures[`${key}_rate`] = figure(key, 'achievedRate');
    }
  }
  const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
  const f = (key) => figures[key].median;
  // The same ratio within each run, where both figures were measured minutes apart.
  const perRun = (key, field, refKey, refField) =>
    (records[key] ?? []).flatMap((record) => {
      const ref = (records[refKey] ?? []).find((r) => r.rep === record.rep);
      const value = ratio(record[field], refField === undefined ? ref : ref?.[refField]);
      return value === undefined ? [] : [value];
    });
  const rssRuns = (records.replicator1 ?? []).map((r) => r.peakRssMB / RSS_LIMIT_MB);
  const targets = [
    {
      name: 'catch-up, 1 destination vs COPY pipe',
      ratio: ratio(f('replicator1'), f('copyPipe1')),
      runs: perRun('replicator1', 'eventsPerSecond', 'copyPipe1', 'eventsPerSecond'),
      target: '>= 0.95',
      meets: (r) => r >= 0.95,
    },
    {
      name: 'catch-up, 1 destination vs logical initial sync',
      ratio: ratio(f('replicator1'), f('logicalSync')),
      runs: perRun('replicator1', 'eventsPerSecond', 'logicalSync', 'eventsPerSecond'),
      target: '> 1',
      meets: (r) => r > 1,
    },
    {
      name: 'catch-up, 2 destinations vs 2 COPY pipes',
      ratio: ratio(f('replicator2'), f('copyPipe2')),
      runs: perRun('replicator2', 'eventsPerSecond', 'copyPipe2', 'eventsPerSecond'),
      target: '>= 0.90',
      meets: (r) => r >= 0.9,
    },
    {
      name: 'lag p99 at 1,000 events/s (tx 10) vs logical',
      ratio: ratio(f('lag_replicator_1k_p99'), f('lag_logical_1k_p99')),
      runs: perRun('lag_replicator_1k', 'p99Ms', 'lag_logical_1k', 'p99Ms'),
      target: '<= 1',
      meets: (r) => r <= 1,
    },
    {
      name: 'lag p99 at 10,000 events/s (tx 100) vs logical',
      ratio: ratio(f('lag_replicator_10k_p99'), f('lag_logical_10k_p99')),
      runs: perRun('lag_replicator_10k', 'p99Ms', 'lag_logical_10k', 'p99Ms'),
      target: '<= 1',
      meets: (r) => r <= 1,
    },
    {
      name: `peak RSS during catch-up, 1 destination, vs ${RSS_LIMIT_MB} MB`,
      ratio: ratio(f('rss1'), RSS_LIMIT_MB),
      runs: rssRuns,
      target: '<= 1',
      meets: (r) => r <= 1,
    },
  ].map(({ meets, ...t }) => ({ ...t, meets: t.ratio === undefined ? undefined : meets(t.ratio) }));
  // Not targets: how close a client woken by pg_notify can come to the lag targets' reference.
  const floors = [
    ['1k', '1,000 events/s (tx 10)'],
    ['10k', '10,000 events/s (tx 100)'],
  ].flatMap(([rate, load]) =>
    [
      ['notify', 'pg_notify arrival alone'],
      ['pipe', 'bare notify-and-copy client'],
    ].map(([method, who]) => ({
      name: `${who}, ${load}`,
      ratio: ratio(f(`lag_${method}_${rate}_p99`), f(`lag_logical_${rate}_p99`)),
      runs: perRun(`lag_${method}_${rate}`, 'p99Ms', `lag_logical_${rate}`, 'p99Ms'),
    })),
  );
  return { figures, targets, floors };
}

const fmt = {
  rate: (v) => (v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US')),
  ms: (v) => (v === undefined ? 'n/a' : v.toFixed(1)),
  mb: (v) => (v === undefined ? 'n/a' : v.toFixed(1)),
  ratio: (v) => (v === undefined ? 'n/a' : v.toFixed(2)),
  cpu: (v) => (v === undefined ? 'n/a' : v.toFixed(1)),
};

/** The results as Markdown tables (they read well in a terminal too). */
export function formatTables(summary, { events, reps }) {
  const { figures, targets } = summary;
  const runs = (key, format) => figures[key].runs.map((v) => format(v)).join(' / ');
  const lines = [];
  lines.push(`Figures (median of ${reps} run${reps === 1 ? '' : 's'}; every run listed), ${events.toLocaleString('en-US')} events:`);
  lines.push('');
  lines.push('| figure | median | runs |');
  lines.push('|---|---:|---|');
  const row = (name, key, format, unit) => lines.push(`| ${name} | ${format(figures[key].median)} ${unit} | ${runs(key, format)} |`);
  row('COPY pipe, 1 destination', 'copyPipe1', fmt.rate, 'events/s');
  row('logical replication initial sync', 'logicalSync', fmt.rate, 'events/s');
  row('replicator catch-up, 1 destination (from spawn)', 'replicator1', fmt.rate, 'events/s');
  row('replicator catch-up, 1 destination (after start-up)', 'replicator1AfterStartup', fmt.rate, 'events/s');
  row('replicator start-up (spawn to `replicating`)', 'replicatorStartupMs', fmt.ms, 'ms');
  row('COPY pipes, 2 destinations side by side (sum)', 'copyPipe2', fmt.rate, 'events/s');
  row('replicator catch-up, 2 destinations (sum, from spawn)', 'replicator2', fmt.rate, 'events/s');
  const cpuRow = (name, prefix) =>
    lines.push(
      `| ${name} | ${[`${prefix}DestinationCpu`, `${prefix}SourceCpu`, `${prefix}ClientCpu`].map((k) => fmt.cpu(figures[k].median)).join(' / ')} s | ` +
        `destination: ${runs(`${prefix}DestinationCpu`, fmt.cpu)} |`,
    );
  cpuRow('CPU: destination backend / source backend / Node process, COPY pipe', 'pipe1');
  cpuRow('CPU: destination backend / source backend / Node process, replicator', 'replicator1');
  row('replicator peak RSS, 1 destination', 'rss1', fmt.mb, 'MB');
  row('replicator peak RSS, 2 destinations', 'rss2', fmt.mb, 'MB');
  for (const [rate, title] of [
    ['1k', '1,000 events/s, tx 10'],
    ['10k', '10,000 events/s, tx 100'],
  ]) {
    for (const [method, who] of [
      ['logical', 'logical replication'],
      ['replicator', 'replicator'],
      ['notify', 'pg_notify arrival alone (no row read yet)'],
      ['pipe', 'bare client: pg_notify, then one COPY source to destination'],
    ]) {
      const key = `lag_${method}_${rate}`;
      if (figures[`${key}_p99`].runs.length === 0) {
        lines.push(`| lag p50 / p99 / max, ${who}, ${title} | not measured | |`);
        continue;
      }
      lines.push(
        `| lag p50 / p99 / max, ${who}, ${title} | ${fmt.ms(figures[`${key}_p50`].median)} / ${fmt.ms(figures[`${key}_p99`].median)} / ${fmt.ms(figures[`${key}_max`].median)} ms | p99: ${runs(`${key}_p99`, fmt.ms)}; load achieved ${runs(`${key}_rate`, fmt.rate)} events/s |`,
      );
    }
  }
  lines.push('');
  lines.push('| target | ratio of medians | ratio in each run | wanted | met |');
  lines.push('|---|---:|---|---|---|');
  for (const t of targets) {
    lines.push(
      `| ${t.name} | ${fmt.ratio(t.ratio)} | ${t.runs.map((r) => fmt.ratio(r)).join(' / ')} | ${t.target} | ${t.meets === undefined ? 'n/a' : t.meets ? 'yes' : 'no'} |`,
    );
  }
  if (summary.floors.some((floor) => floor.ratio !== undefined)) {
    lines.push('');
    lines.push('What bounds the lag targets (not targets): p99 of a client woken by pg_notify, against logical replication\'s lag p99.');
    lines.push('');
    lines.push('| p99 vs logical replication lag p99 | ratio of medians | ratio in each run |');
    lines.push('|---|---:|---|');
    for (const floor of summary.floors) {
      lines.push(`| ${floor.name} | ${fmt.ratio(floor.ratio)} | ${floor.runs.map((r) => fmt.ratio(r)).join(' / ')} |`);
    }
  }
  return lines.join('\n');
}
