/**
 * Watches what a reader of a destination sees: its max(id), read over and over while a
 * scenario runs. Afterwards, insideTransactions() tells which of the values seen were in the
 * middle of a source transaction, which a destination must never show.
 */
import pg from 'pg';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class MaxIdSampler {
  private running = false;
  private loop: Promise<void> | undefined;
  readonly seen = new Set<number>();
  samples = 0;

  constructor(private readonly url: string) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.sample();
  }

  async stop(): Promise<Set<number>> {
    this.running = false;
    await this.loop;
    return this.seen;
  }

  private async sample(): Promise<void> {
    let client: pg.Client | undefined;
    while (this.running) {
      try {
        if (client === undefined) {
          client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000, application_name: 'slate-test-sampler' });
          client.on('error', () => {});
          await client.connect();
        }
        const result = await client.query<{ max: string | null }>({ text: 'SELECT max(id)::text AS max FROM events', query_timeout: 5000 } as pg.QueryConfig);
        this.seen.add(Number(result.rows[0]?.max ?? 0));
        this.samples += 1;
        await sleep(5);
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
        await sleep(100);
      }
    }
    await client?.end().catch(() => {});
  }
}

/**
 * The values among `maxIds` after which the source transaction goes on: row v+1 has row v's
 * ts and was written by the same writer. The ts alone does not tell transactions apart: two
 * writers' transactions that begin in the same microsecond share one (seen in about one
 * run of this rig in ten), and a destination may rightly end between them. One writer's
 * transactions follow each other on one session, so they never share a ts.
 */
export async function insideTransactions(sourceUrl: string, maxIds: Iterable<number>): Promise<number[]> {
  const client = new pg.Client({ connectionString: sourceUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const result = await client.query<{ id: string }>(
      `SELECT a.id::text AS id FROM events a JOIN events b ON b.id = a.id + 1
       WHERE a.id = ANY($1::bigint[]) AND a.ts = b.ts
         AND a.event->'writer' IS NOT DISTINCT FROM b.event->'writer' ORDER BY a.id`,
      [[...maxIds].filter((v) => v > 0)],
    );
    return result.rows.map((row) => Number(row.id));
  } finally {
    await client.end().catch(() => {});
  }
}
