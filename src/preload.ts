/**
 * Imported first by the CLI, before anything that loads `pg`.
 *
 * When `pg` is loaded it checks whether it runs in a Cloudflare Worker. On Node.js versions
 * without a global `navigator` (20 and older) that check constructs a `Response`, which makes
 * Node.js load its fetch implementation and compile its HTTP parser to WebAssembly: about
 * 12 MB of resident memory for a process that never fetches anything. Loading `pg` here with
 * `Response` hidden for that moment skips the check's costly branch; every later import of
 * `pg` gets this same module instance. Newer Node.js versions answer the check from
 * `navigator` and are left alone.
 */
import { createRequire } from 'node:module';

const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
if (!('navigator' in globalThis) && response?.configurable === true) {
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true });
  try {
    createRequire(import.meta.url)('pg');
  } finally {
    Object.defineProperty(globalThis, 'Response', response);
  }
}
