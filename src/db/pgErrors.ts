/**
 * Deciding whether a failure is worth retrying, from SQLSTATE classes and socket error codes
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html), never from message text.
 */

/** Socket and resolver error codes that mean "the network or the server is not there right now". */
export const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** SQLSTATE classes whose errors end the conversation or the server's availability, not the data. */
const TRANSIENT_SQLSTATE_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources (too many connections, out of disk or memory)
  '58', // system error (I/O error)
]);

/** Single SQLSTATEs worth retrying outside those classes. */
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is shutting down or our backend was terminated
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
  '57P05', // idle_session_timeout
  '57014', // query_canceled: statement_timeout, or cancelled by an operator
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
]);

/** SQLSTATEs that mean the login itself was refused: retrying will not help. */
export const AUTH_SQLSTATES = new Set([
  '28000', // invalid_authorization_specification (no pg_hba.conf entry, role does not exist)
  '28P01', // invalid_password
  '42501', // insufficient_privilege
]);

/** SQLSTATE 3D000: the named database does not exist. */
export const INVALID_CATALOG_NAME = '3D000';

/**
 * Five digits or upper-case letters, not starting with E: some of Node's error codes have
 * five letters too (EPIPE, EPERM), and no SQLSTATE class starts with E.
 */
const SQLSTATE = /^[0-9A-DF-Z][0-9A-Z]{4}$/;

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

export function socketCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? code : undefined;
}

/**
 * True when repeating the failed work later may succeed. An error from the driver that has
 * neither a SQLSTATE nor a socket code ("connection terminated", a connect or query timeout)
 * means the conversation with the server broke, which is transient too.
 */
export function isTransient(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) {
    return TRANSIENT_SQLSTATES.has(state) || TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
  }
  const socket = socketCode(error);
  if (socket !== undefined) return TRANSIENT_SOCKET_CODES.has(socket);
  const flagged = (error as { transient?: unknown } | null)?.transient;
  if (typeof flagged === 'boolean') return flagged;
  return error instanceof Error && error.constructor === Error;
}
