/**
 * CPU time of processes on this machine, from /proc: the replicator child, and the
 * PostgreSQL backends serving a connection (when the server runs here; otherwise the
 * figures are left out).
 */
import { readFile } from 'node:fs/promises';

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; undefined if it cannot be read. */
export async function cpuSecondsOf(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pid of the backend serving `client`. */
export async function backendPid(client) {
  return (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/** Sum of the CPU seconds of `pids`; undefined if there are none or any cannot be read. */
export async function cpuSecondsOfAll(pids) {
  if (pids.length === 0) return undefined;
  const seconds = await Promise.all(pids.map((pid) => cpuSecondsOf(pid)));
  return seconds.some((s) => s === undefined) ? undefined : seconds.reduce((a, b) => a + b, 0);
}
