/**
 * Faults the scenarios met, classified as the engine must classify them: a transient fault
 * is retried, anything else stops the replicator.
 */
import { expect, test } from 'vitest';
import { isTransient, sqlState } from '../../src/db/pgErrors.js';

/** An error as Node's net module raises it: a message, a code, an errno and the system call. */
function systemError(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno, syscall });
}

test.each([
  // A COPY into a destination whose connection was cut writes into a closed socket.
  { name: 'write EPIPE (its code has the shape of a SQLSTATE)', error: systemError('EPIPE', -32, 'write') },
  // The same when Node's socket already knows the other side ended: no syscall, no errno.
  { name: 'This socket has been ended by the other party (EPIPE)', error: Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' }) },
  { name: 'read ECONNRESET', error: systemError('ECONNRESET', -104, 'read') },
  { name: 'connect ECONNREFUSED', error: systemError('ECONNREFUSED', -111, 'connect') },
])('a socket error is transient: $name', ({ error }) => {
  expect(sqlState(error)).toBeUndefined();
  expect(isTransient(error)).toBe(true);
});

test('a SQLSTATE still decides for a server error', () => {
  expect(isTransient(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  expect(isTransient(Object.assign(new Error('relation "events" does not exist'), { code: '42P01' }))).toBe(false);
});
