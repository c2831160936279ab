/**
 * What the replicator process loads: only what replicating needs, so its resident memory
 * stays small. A hook given through NODE_OPTIONS records, when the process exits, the
 * packages it loaded and whether Node.js's fetch implementation (undici) was loaded.
 */
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { createTestDatabase } from './helpers/databases.js';
import { findFreePort } from './helpers/embeddedServer.js';
import { spawnCli, writeConfigFile } from './helpers/replicator.js';

const HOOK = `
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file);
    if (match) packages.add(match[1]);
  }
  const undici = process.moduleLoadList.some((name) => name.includes('undici'));
  writeFileSync(process.env.SLATE_FOOTPRINT_OUT, JSON.stringify({ packages: [...packages], undici }));
});
`;

interface Footprint {
  packages: string[];
  undici: boolean;
}

/** Runs the replicator until it replicates, stops it, and returns what it had loaded. */
async function footprintOf(extraConfig: object): Promise<Footprint> {
  const dir = mkdtempSync(join(tmpdir(), 'slate-footprint-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const hook = join(dir, 'hook.mjs');
  const out = join(dir, 'footprint.json');
  writeFileSync(hook, HOOK);
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  const config = writeConfigFile({ eventSource: source.config, replicationDestinations: [destination.config], ...extraConfig });
  const run = spawnCli(['-c', config], { NODE_OPTIONS: `--import=${hook}`, SLATE_FOOTPRINT_OUT: out });
  await run.waitForOutput((line) => line.includes('"replicating"'));
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Footprint;
}

describe('process footprint', () => {
  test('without a status server: pg and pg-listen, but neither prom-client nor Node.js fetch (undici)', async () => {
    const footprint = await footprintOf({});
    expect(footprint.packages).toEqual(expect.arrayContaining(['pg', 'pg-listen', 'pg-copy-streams']));
    expect(footprint.packages).not.toContain('prom-client');
    expect(footprint.undici).toBe(false);
  });

  test('with a status server: prom-client is loaded, and still no undici', async () => {
    const port = await findFreePort();
    const footprint = await footprintOf({ http: { port, host: '127.0.0.1' } });
    expect(footprint.packages).toContain('prom-client');
    expect(footprint.undici).toBe(false);
  });
});
