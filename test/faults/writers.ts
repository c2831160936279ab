/**
 * The application side of a fault scenario: several clients inserting through the source's
 * insert_events(jsonb) in transactions of random sizes, with random pauses, for as long as
 * the scenario runs. A writer that meets a fault (the source restarted, its session ended)
 * reconnects and goes on; whether its last transaction committed does not matter, since the
 * destinations are compared with the source, not with what the writers meant to write.
 */
import pg from 'pg';
import { Random } from '../../src/load/random.js';

export interface WriterFigures {
  transactions: number;
  events: number;
  failures: number;
}

/**
 * Rows per source transaction: mostly a few, sometimes a hundred, now and then more than
 * the rig's maxEventsPerWrite (500), which the replicator must still copy in one destination
 * transaction.
 */
function transactionSize(random: Random): number {
  const kind = random.weighted({ small: 80, medium: 18, large: 2 });
  if (kind === 'small') return random.int(1, 11);
  if (kind === 'medium') return random.int(11, 100);
  return random.int(400, 1200);
}

/** A JSON array of `n` events, written as text so that `1.10` and a 20-digit number reach PostgreSQL as they are. */
function eventsJson(random: Random, writer: number, firstSeq: number, n: number): string {
  const events: string[] = [];
  for (let i = 0; i < n; i++) {
    const pad = 'x'.repeat(random.int(0, 300));
    events.push(
      `{"entityName":"Fault","writer":${writer},"seq":${firstSeq + i},"precise":1.10,"big":12345678901234567890,` +
        `"text":"Grüße 😀 \\"q\\" \\\\ \\t ${pad}"}`,
    );
  }
  return `[${events.join(',')}]`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Writers {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly figures: WriterFigures = { transactions: 0, events: 0, failures: 0 };

  /**
   * `count` writers on `url`, each with its own generator seeded from `seed`;
   * `pauseMs` bounds the random pause between two transactions of one writer.
   */
  constructor(
    private readonly url: string,
    private readonly seed: number,
    private readonly count = 3,
    private readonly pauseMs = 100,
  ) {}

  get written(): Readonly<WriterFigures> {
    return this.figures;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.count }, (_, i) => this.write(i));
  }

  async stop(): Promise<WriterFigures> {
    this.running = false;
    await Promise.all(this.loops);
    return { ...this.figures };
  }

  private async write(writer: number): Promise<void> {
    const random = new Random(this.seed * 31 + writer);
    let client: pg.Client | undefined;
    let seq = 0;
    while (this.running) {
      try {
        if (client === undefined) {
          client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000, application_name: 'slate-test-writer' });
          client.on('error', () => {});
          await client.connect();
        }
        const n = transactionSize(random);
        await client.query({ text: 'SELECT insert_events($1::jsonb)', values: [eventsJson(random, writer, seq, n)], query_timeout: 20_000 } as pg.QueryConfig);
        seq += n;
        this.figures.transactions += 1;
        this.figures.events += n;
        await sleep(random.int(0, this.pauseMs));
      } catch {
        this.figures.failures += 1;
        await client?.end().catch(() => {});
        client = undefined;
        await sleep(random.int(100, 400));
      }
    }
    await client?.end().catch(() => {});
  }
}
