/**
 * A bare LISTEN client in a process of its own, for bench/lib/notifyFloor.mjs. Its argument
 * is JSON: `source` (pg client configuration), `mode`, and for mode `pipe` `destination`.
 *
 * - `notify`: notes each notification's payload and arrival time (milliseconds since the
 *   epoch, with a fraction);
 * - `pipe`: on each notification, copies every source row after the last one copied into
 *   the destination: one `COPY ... TO STDOUT` piped into one `COPY ... FROM STDIN`, in
 *   autocommit, with no transaction, lock or check (notifications that arrive meanwhile
 *   start one more copy when it ends).
 *
 * It tells its parent `ready` once listening; on any message from its parent it sends back
 * the arrivals (mode notify) or the rows copied (mode pipe), and exits.
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const { source: sourceConfig, destination: destinationConfig, mode } = JSON.parse(process.argv[2]);

/** A lost connection ends the child, so its parent sees it exit instead of waiting for figures. */
function fail(error) {
  process.stderr.write(`notify listener: ${error.stack ?? error.message}\n`);
  process.exit(1);
}

const listener = new pg.Client(sourceConfig);
listener.on('error', fail);
const arrivals = [];
let copied = 0;
let onNotification = (payload) => arrivals.push([payload, performance.timeOrigin + performance.now()]);

if (mode === 'pipe') {
  const source = new pg.Client(sourceConfig);
  const destination = new pg.Client(destinationConfig);
  source.on('error', fail);
  destination.on('error', fail);
  await Promise.all([source.connect(), destination.connect()]);
  let copying = false;
  let again = false;
  const copy = async () => {
    if (copying) {
      again = true;
      return;
    }
    copying = true;
    do {
      again = false;
      const into = destination.query(copyFrom('COPY events (id, ts, event) FROM STDIN (FORMAT binary)'));
      const rows = source.query(copyTo(`COPY (SELECT id, ts, event FROM events WHERE id > ${copied} ORDER BY id) TO STDOUT (FORMAT binary)`));
      await pipeline(rows, into);
      copied += into.rowCount;
    } while (again);
    copying = false;
  };
  onNotification = () => {
    copy().catch(fail);
  };
}

listener.on('notification', (message) => onNotification(message.payload));
await listener.connect();
await listener.query('LISTEN eventsinsert');
process.send('ready');
process.once('message', () => {
  process.send(mode === 'pipe' ? { copied } : { arrivals }, () => process.exit(0));
});
