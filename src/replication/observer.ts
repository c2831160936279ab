/**
 * What the replication loops report as they go, for whoever keeps figures (metrics, the
 * status server). Every callback is optional and must return quickly: it runs on the
 * replication path.
 */
export interface ReplicationObserver {
  /** A destination committed a write transaction of `rows` rows in `seconds`. */
  batchWritten?(destination: string, rows: number, seconds: number): void;
  /** A destination's loop hit a transient fault and will retry; `reason` is a short code. */
  retrying?(destination: string, reason: string): void;
  /** The source listener reconnected (a catch-up follows). */
  listenerReconnected?(): void;
}

/** A short, low-cardinality reason for a fault: its SQLSTATE, its socket code, or its kind. */
export function faultReason(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  return error.name === 'Error' ? 'connection-lost' : error.name;
}
