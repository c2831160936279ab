/**
 * TLS against a server that accepts nothing else: an embedded cluster with `ssl = on`, a
 * certificate authority and certificates made here with openssl, and a pg_hba.conf of
 * `hostssl` lines only. One role logs in with a password, another with a client
 * certificate.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startCluster } from './helpers/cluster.js';
import type { Cluster } from './helpers/cluster.js';
import type { TestDatabase } from './helpers/databases.js';
import { insertNumbered, maxId, summarize } from './helpers/events.js';
import { runCli, spawnCli, writeConfigFile } from './helpers/replicator.js';

const CERT_USER = 'slate_cert_user';

let cluster: Cluster;
let certDir = '';
let source: TestDatabase;
let destination: TestDatabase;
/** Set once the server takes only TLS. */
let tlsOnly = false;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certDir, stdio: 'pipe' });
}

/** An EC key and a certificate for `subject`, signed by the test CA. */
function issue(name: string, subject: string, extensions?: string): void {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  const ext = extensions === undefined ? [] : ['-extfile', `${name}.ext`];
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, ...ext);
}

/** The URL of a database on the TLS-only cluster, for the test's own clients (TLS without verification). */
function tlsUrl(db: TestDatabase): { url: string } {
  return { url: `${db.url}?sslmode=no-verify` };
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const url = new URL(cluster.adminUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString(), ssl: tlsOnly ? { rejectUnauthorized: false } : false });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

beforeAll(async () => {
  cluster = await startCluster();
  source = await cluster.createDatabase('source');
  destination = await cluster.createDatabase('destination');

  certDir = await mkdtemp(join(tmpdir(), 'slate-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=slate test CA');
  await writeFile(join(certDir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  issue('server', '/CN=127.0.0.1', 'server.ext');
  issue('client', `/CN=${CERT_USER}`);
  // A second CA that signed nothing here: trusting it alone must fail.
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=another CA');

  // PostgreSQL wants its key owned by the user it runs as (postgres, when we are root) and 0600.
  const owner = await stat(cluster.dataDir);
  for (const file of ['server.crt', 'server.key', 'ca.crt']) {
    const target = join(cluster.dataDir, file);
    await copyFile(join(certDir, file), target);
    await chown(target, owner.uid, owner.gid);
    await chmod(target, 0o600);
  }
  await asAdmin(async (client) => {
    await client.query(`CREATE ROLE ${CERT_USER} LOGIN`);
    await client.query(`ALTER SYSTEM SET ssl = on`);
    await client.query(`ALTER SYSTEM SET ssl_cert_file = 'server.crt'`);
    await client.query(`ALTER SYSTEM SET ssl_key_file = 'server.key'`);
    await client.query(`ALTER SYSTEM SET ssl_ca_file = 'ca.crt'`);
  });
  for (const db of [source, destination]) {
    await asAdmin((client) => client.query(`GRANT SELECT ON events TO ${CERT_USER}`), db.name);
  }
  const hba = join(cluster.dataDir, 'pg_hba.conf');
  await writeFile(hba, [`hostssl all ${CERT_USER} 127.0.0.1/32 cert`, 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
  await chown(hba, owner.uid, owner.gid);
  await asAdmin((client) => client.query('SELECT pg_reload_conf()'));
  tlsOnly = true;
  // The reload is a signal to the postmaster: wait until it refuses a plain connection.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const plain = new pg.Client({ connectionString: cluster.adminUrl, ssl: false });
    plain.on('error', () => {});
    const refused = await plain.connect().then(() => false, () => true);
    await plain.end().catch(() => {});
    if (refused) break;
    if (Date.now() > deadline) throw new Error('the server still accepts plain connections after the reload');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
  if (certDir !== '') await rm(certDir, { recursive: true, force: true });
});

/** A config file for the two databases, `ssl` (or other keys) applied to both. */
function configWith(entry: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const of = (db: TestDatabase) => ({ ...db.config, ...entry });
  return writeConfigFile({ eventSource: of(source), replicationDestinations: [of(destination)], connectTimeout: 3000, pollIntervalMs: 500, ...extra });
}

describe('a server that accepts only TLS', () => {
  test('refuses a plain connection (the test\'s own check of the setup)', async () => {
    const client = new pg.Client({ connectionString: source.url, ssl: false });
    client.on('error', () => {});
    await expect(client.connect()).rejects.toMatchObject({ code: '28000' });
    await client.end().catch(() => {});
  });

  test('with ssl settings the replicator reaches it and replicates', async () => {
    await insertNumbered(tlsUrl(source), 25);
    const run = spawnCli(['-c', configWith({ ssl: { rejectUnauthorized: false } })]);
    await run.waitForOutput((line) => line.includes('"replicating"'));
    await insertNumbered(tlsUrl(source), 5);
    const deadline = Date.now() + 20_000;
    while ((await maxId(tlsUrl(destination))) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await summarize(tlsUrl(destination))).toEqual(await summarize(tlsUrl(source)));
    const sessions = await asAdmin(async (client) => {
      const result = await client.query<{ application_name: string; ssl: boolean }>(
        `SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'slate-replicator%'`,
      );
      return result.rows;
    });
    expect(sessions.map((s) => s.application_name).sort()).toEqual(['slate-replicator listener', 'slate-replicator reader', 'slate-replicator writer']);
    expect(sessions.every((s) => s.ssl)).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test('without ssl: refused by pg_hba.conf, exit 4, with a hint about ssl', async () => {
    const result = await runCli(['-c', configWith({})]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('no encryption');
    expect(result.stderr).toContain('needs `ssl` in the configuration');
  });

  test('rejectUnauthorized: true with the CA file: verified, and it works', async () => {
    const result = await runCli(['status', '-c', configWith({ ssl: { rejectUnauthorized: true, ca: join(certDir, 'ca.crt') } })]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('rejectUnauthorized: true without the CA (or with another CA): the certificate is refused, exit 3', async () => {
    for (const ssl of [true, { rejectUnauthorized: true }, { ca: join(certDir, 'other-ca.crt') }]) {
      const result = await runCli(['-c', configWith({ ssl })]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('the server\'s TLS certificate was not accepted');
      expect(result.stderr).toContain('ssl.ca');
    }
  });

  test('a connection string with sslmode=verify-full and sslrootcert (relative to the config file), and PGSSLMODE=require', async () => {
    const uri = (db: TestDatabase) => {
      const url = new URL(db.url);
      url.search = '?sslmode=verify-full&sslrootcert=ca.crt';
      return url.toString();
    };
    // Beside ca.crt, so the relative sslrootcert names it.
    const viaUri = join(certDir, 'config.js');
    await writeFile(viaUri, `module.exports = ${JSON.stringify({ eventSource: { connectionString: uri(source) }, replicationDestinations: [{ connectionString: uri(destination) }] })};\n`);
    const result = await runCli(['status', '-c', viaUri]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const viaEnv = await runCli(['status', '-c', configWith({})], { PGSSLMODE: 'require' });
    expect(viaEnv.stderr).toBe('');
    expect(viaEnv.code).toBe(0);
  });

  test('a client certificate and key (cert authentication, no password)', async () => {
    const withCert = { user: CERT_USER, password: undefined, ssl: { ca: join(certDir, 'ca.crt'), cert: join(certDir, 'client.crt'), key: join(certDir, 'client.key') } };
    const result = await runCli(['status', '-c', configWith(withCert)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const withoutCert = await runCli(['status', '-c', configWith({ ...withCert, ssl: { ca: join(certDir, 'ca.crt') } })]);
    expect(withoutCert.code).toBe(4);
  });
});
