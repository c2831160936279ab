/**
 * The COPY watchdog (src/db/timeouts.ts stallGuard) must also cover the wait after the
 * last row: a destination whose connection went silent never acknowledges the COPY, and a
 * small batch fits entirely in the socket buffers, so no chunk is held back to reveal it.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect, test } from 'vitest';
import { StallError, stallGuard } from '../../src/db/timeouts.js';

/** Takes every chunk at once and never finishes: a COPY whose server no longer answers. */
function silentDestination(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
    final() {
      // The acknowledgment never comes.
    },
  });
}

test('a destination that takes every row and never acknowledges the end is a stall', async () => {
  const guard = stallGuard(200);
  const startedAt = performance.now();
  const copy = pipeline(Readable.from([Buffer.from('row 1'), Buffer.from('row 2')]), guard.stream, silentDestination());
  copy.catch(() => {});
  try {
    await expect(Promise.race([copy, guard.stalled])).rejects.toBeInstanceOf(StallError);
  } finally {
    guard.clear();
  }
  expect(performance.now() - startedAt).toBeLessThan(2000);
}, 5000);

test('a copy that ends and is acknowledged in time is not a stall', async () => {
  const guard = stallGuard(200);
  const done = pipeline(Readable.from([Buffer.from('row 1')]), guard.stream, new Writable({ write: (_c, _e, cb) => cb() }));
  try {
    await Promise.race([done, guard.stalled]);
  } finally {
    guard.clear();
  }
  // Cleared: the watchdog does not fire later.
  await new Promise((resolve) => setTimeout(resolve, 300));
});
