/**
 * The connection keys of a database entry: connectionString, port, ssl (with its files),
 * applicationName; the PG* environment defaults; the http key; and what the driver is
 * given in the end.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeConfig } from '../src/config/describeConfig.js';
import { loadConfig, validateConfig } from '../src/config/load.js';
import { clientConfig } from '../src/db/connect.js';
import { ConfigError } from '../src/errors.js';
import type { Environment } from '../src/config/environment.js';
import { runCli } from './helpers/replicator.js';

type Config = Record<string, unknown>;

function config(source: Config, ...destinations: Config[]): Config {
  return { eventSource: source, replicationDestinations: destinations.length > 0 ? destinations : [{ host: 'h', databaseName: 'dst' }] };
}

function problemsOf(input: unknown, env: Environment = {}): [string, string][] {
  try {
    validateConfig(input, 'test config', env);
  } catch (thrown) {
    if (thrown instanceof ConfigError) return thrown.problems.map((p) => [p.path, p.message]);
    throw thrown;
  }
  throw new Error('expected a ConfigError, the configuration was accepted');
}

describe('connectionString', () => {
  test('gives every part: host, port, database, user, password (percent-decoded), sslmode, sslrootcert, application_name', () => {
    const resolved = validateConfig(
      config({ connectionString: 'postgresql://rep%40corp:p%2Fss%3Aword@db.internal:6432/source%20db?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=billing' }),
      'test',
    );
    expect(resolved.eventSource).toEqual({
      host: 'db.internal',
      port: 6432,
      databaseName: 'source db',
      user: 'rep@corp',
      password: 'p/ss:word',
      ssl: { rejectUnauthorized: true, ca: '/etc/ca.pem' },
      applicationName: 'billing',
    });
    expect(resolved.eventSource).not.toHaveProperty('connectionString');
  });

  test('explicit keys override the parts of the URI; absent parts take their defaults', () => {
    const resolved = validateConfig(
      config({ connectionString: 'postgres://uri-user:uri-pass@uri-host:6000/uri-db?sslmode=require', host: 'key-host', password: 'key-pass', ssl: false }),
      'test',
    );
    expect(resolved.eventSource).toEqual({ host: 'key-host', port: 6000, databaseName: 'uri-db', user: 'uri-user', password: 'key-pass' });
    expect(validateConfig(config({ connectionString: 'postgres://h/db' }), 'test').eventSource).toEqual({ host: 'h', port: 5432, databaseName: 'db' });
  });

  test('IPv6 hosts and Unix socket directories', () => {
    expect(validateConfig(config({ connectionString: 'postgres://[::1]:5433/db' }), 'test').eventSource).toMatchObject({ host: '::1', port: 5433 });
    expect(validateConfig(config({ connectionString: 'postgres://%2Fvar%2Frun%2Fpostgresql/db' }), 'test').eventSource.host).toBe('/var/run/postgresql');
  });

  test('a URI without a database takes databaseName from the key, and needs one', () => {
    expect(validateConfig(config({ connectionString: 'postgres://h', databaseName: 'src' }), 'test').eventSource.databaseName).toBe('src');
    expect(problemsOf(config({ connectionString: 'postgres://h:5432/' }))).toEqual([['eventSource.databaseName', 'required']]);
  });

  const URI = 'eventSource.connectionString';
  test.each([
    ['libpq\'s keyword form', 'host=h dbname=src', [[URI, 'is not a PostgreSQL URI: expected postgres://user:password@host:port/database']]],
    ['no scheme', 'db.internal:5432/src', [[URI, 'must start with postgres:// or postgresql://']]],
    ['another scheme', 'mysql://h/db', [[URI, 'must start with postgres:// or postgresql://, got mysql://']]],
    ['no host', 'postgres:///db', [[URI, 'names no host: expected postgres://user:password@host:port/database']]],
    ['several hosts', 'postgres://a,b/db', [[URI, 'names several hosts; give one']]],
    ['port 0', 'postgres://h:0/db', [[URI, 'port must be between 1 and 65535, got 0']]],
    ['a path with a slash', 'postgres://h/a/b', [[URI, 'must name one database as its path: expected postgres://user:password@host:port/database']]],
    [
      'an unsupported parameter',
      'postgres://h/db?connect_timeout=10',
      [[URI, 'parameter "connect_timeout" is not supported (supported: sslmode, sslrootcert, sslcert, sslkey, application_name); use the configuration\'s keys']],
    ],
    [
      'sslmode=prefer',
      'postgres://h/db?sslmode=prefer',
      [[URI, 'sslmode must be disable, require, verify-ca or verify-full (allow and prefer, which may fall back to no encryption, are not supported), got "prefer"']],
    ],
    ['a root certificate without sslmode', 'postgres://h/db?sslrootcert=ca.pem', [[URI, 'sslrootcert, sslcert and sslkey need sslmode=require, verify-ca or verify-full']]],
    ['sslcert without sslkey', 'postgres://h/db?sslmode=require&sslcert=c.pem', [[URI, 'sslcert and sslkey go together: give both or neither']]],
    ['a fragment', 'postgres://h/db#x', [[URI, 'must not have a #fragment']]],
  ])('%s', (_name, uri, expected) => {
    expect(problemsOf(config({ connectionString: uri }))).toEqual(expected);
  });

  test('never quotes the URI, which may hold a password', () => {
    for (const uri of ['postgres://u:s3cret-pw@h:99999/db', 'postgres://u:s3cret-pw@h/db?foo=1', 's3cret-pw']) {
      let message = '';
      try {
        validateConfig(config({ connectionString: uri }), 'test');
      } catch (thrown) {
        message = (thrown as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('s3cret-pw');
    }
  });

  test('not a string: its type only', () => {
    expect(problemsOf(config({ connectionString: 42 }))).toEqual([['eventSource.connectionString', 'must be a string, got a number']]);
  });

  test('the distinct-databases rule compares what the URIs resolve to', () => {
    expect(problemsOf(config({ host: 'db', databaseName: 'a' }, { connectionString: 'postgres://DB:5432/a' }))).toEqual([
      ['replicationDestinations[0]', 'same database as eventSource (db:5432/a): a destination must not be the source'],
    ]);
    expect(
      problemsOf(config({ host: 'db', databaseName: 'a' }, { connectionString: 'postgres://db/b' }, { connectionString: 'postgresql://x@db:5432/b?sslmode=require' })),
    ).toEqual([['replicationDestinations[1]', 'same database as replicationDestinations[0] (db:5432/b)']]);
    expect(validateConfig(config({ host: 'db', databaseName: 'a' }, { connectionString: 'postgres://db:5433/a' }), 'test').replicationDestinations).toHaveLength(1);
  });

  test('an unreadable URI is reported once, not also as a missing host and databaseName, and is left out of the distinct rule', () => {
    expect(problemsOf(config({ host: 'db', databaseName: 'a' }, { connectionString: 'nope' }, { connectionString: 'nope' }))).toEqual([
      ['replicationDestinations[0].connectionString', 'is not a PostgreSQL URI: expected postgres://user:password@host:port/database'],
      ['replicationDestinations[1].connectionString', 'is not a PostgreSQL URI: expected postgres://user:password@host:port/database'],
    ]);
  });

  test('url, uri, sslmode and application_name as keys: the key meant is suggested', () => {
    expect(problemsOf(config({ url: 'postgres://h/db' }))).toEqual([
      ['eventSource.host', 'required'],
      ['eventSource.databaseName', 'required'],
      ['eventSource.url', 'unknown key (did you mean connectionString?)'],
    ]);
    expect(problemsOf(config({ host: 'h', databaseName: 'd', application_name: 'x', tls: true }))).toEqual([
      ['eventSource.application_name', 'unknown key (did you mean applicationName?)'],
      ['eventSource.tls', 'unknown key (did you mean ssl?)'],
    ]);
  });
});

describe('ssl', () => {
  const db = { host: 'h', databaseName: 'src' };
  test.each([
    ['true: TLS, the certificate verified', true, { rejectUnauthorized: true }],
    ['false: none', false, undefined],
    ['an object: rejectUnauthorized defaults to true', { ca: 'ca.pem' }, { rejectUnauthorized: true, ca: 'ca.pem' }],
    ['encrypted without verification', { rejectUnauthorized: false }, { rejectUnauthorized: false }],
    ['client certificate', { cert: 'c.pem', key: 'k.pem', ca: '/ca.pem' }, { rejectUnauthorized: true, cert: 'c.pem', key: 'k.pem', ca: '/ca.pem' }],
  ])('%s', (_name, ssl, expected) => {
    expect(validateConfig(config({ ...db, ssl }), 'test').eventSource.ssl).toEqual(expected);
  });

  const SSL = 'eventSource.ssl';
  test.each([
    ['a string', 'require', [[SSL, 'must be true, false or an object such as { rejectUnauthorized, ca, cert, key }, got "require" (a string)']]],
    ['a number', 1, [[SSL, 'must be true, false or an object such as { rejectUnauthorized, ca, cert, key }, got 1']]],
    ['rejectUnauthorized a string', { rejectUnauthorized: 'yes' }, [[`${SSL}.rejectUnauthorized`, 'must be true or false, got "yes" (a string)']]],
    ['ca a number', { ca: 3 }, [[`${SSL}.ca`, 'must be a file path, got 3']]],
    ['ca empty', { ca: ' ' }, [[`${SSL}.ca`, 'must not be empty']]],
    ['cert without key', { cert: 'c.pem' }, [[SSL, 'cert and key go together: give both or neither']]],
    ['a misspelt key', { rejectUnauthorised: false }, [[`${SSL}.rejectUnauthorised`, 'unknown key (did you mean rejectUnauthorized?)']]],
  ])('refuses %s', (_name, ssl, expected) => {
    expect(problemsOf(config({ ...db, ssl }))).toEqual(expected);
  });
});

describe('applicationName', () => {
  test('accepted, and it replaces slate-replicator in the sessions\' application_name', () => {
    const resolved = validateConfig(config({ host: 'h', databaseName: 'src', applicationName: 'billing-replica' }), 'test');
    expect(clientConfig(resolved.eventSource, { connectTimeoutMs: 1000, applicationName: 'slate-replicator listener' }).application_name).toBe('billing-replica listener');
    const plain = validateConfig(config({ host: 'h', databaseName: 'src' }), 'test');
    expect(clientConfig(plain.eventSource, { connectTimeoutMs: 1000, applicationName: 'slate-replicator reader' }).application_name).toBe('slate-replicator reader');
  });

  test.each([
    ['empty', ''],
    ['too long', 'x'.repeat(49)],
    ['not ASCII', 'réplica'],
  ])('refuses %s', (_name, applicationName) => {
    expect(problemsOf(config({ host: 'h', databaseName: 'src', applicationName }))).toEqual([
      ['eventSource.applicationName', 'must be 1 to 48 printable ASCII characters'],
    ]);
  });
});

describe('PG* environment variables', () => {
  const env = { PGUSER: 'env-user', PGPASSWORD: 'env-pass', PGPORT: '6543', PGSSLMODE: 'require', PGAPPNAME: 'env-app', PGHOST: 'env-host', PGDATABASE: 'env-db' };

  test('fill user, password, port, ssl and applicationName where an entry sets none; PGHOST and PGDATABASE are not used', () => {
    const resolved = validateConfig(config({ host: 'h', databaseName: 'src' }), 'test', env);
    expect(resolved.eventSource).toEqual({
      host: 'h',
      port: 6543,
      databaseName: 'src',
      user: 'env-user',
      password: 'env-pass',
      ssl: { rejectUnauthorized: false },
      applicationName: 'env-app',
    });
    expect(problemsOf(config({ databaseName: 'src' }), env)).toEqual([['eventSource.host', 'required']]);
  });

  test('an entry\'s keys and its URI win over the environment', () => {
    const resolved = validateConfig(
      config({ connectionString: 'postgres://uri-user@h:7000/src?sslmode=disable', password: 'key-pass', applicationName: 'key-app' }),
      'test',
      env,
    );
    expect(resolved.eventSource).toEqual({ host: 'h', port: 7000, databaseName: 'src', user: 'uri-user', password: 'key-pass', applicationName: 'key-app' });
    expect(validateConfig(config({ host: 'h', databaseName: 'src', ssl: false, port: 5432 }), 'test', env).eventSource).toMatchObject({ port: 5432 });
    expect(validateConfig(config({ host: 'h', databaseName: 'src', ssl: false }), 'test', env).eventSource.ssl).toBeUndefined();
  });

  test('empty variables count as unset; validateConfig without env uses none', () => {
    expect(validateConfig(config({ host: 'h', databaseName: 'src' }), 'test', { PGUSER: '', PGPORT: '' }).eventSource).toEqual({ host: 'h', port: 5432, databaseName: 'src' });
    expect(validateConfig(config({ host: 'h', databaseName: 'src' }), 'test').eventSource).toEqual({ host: 'h', port: 5432, databaseName: 'src' });
  });

  test('PGPORT decides which entries are the same database', () => {
    expect(problemsOf(config({ host: 'h', databaseName: 'a' }, { host: 'h', port: 6543, databaseName: 'a' }), { PGPORT: '6543' })).toEqual([
      ['replicationDestinations[0]', 'same database as eventSource (h:6543/a): a destination must not be the source'],
    ]);
  });

  test('unusable values are reported under the variable\'s name', () => {
    expect(problemsOf(config({ host: 'h', databaseName: 'src' }), { PGPORT: '54x', PGSSLMODE: 'prefer', PGAPPNAME: 'é' })).toEqual([
      ['PGPORT', 'environment variable: must be an integer between 1 and 65535, got "54x"'],
      ['PGSSLMODE', 'environment variable: must be disable, require, verify-ca or verify-full (allow and prefer, which may fall back to no encryption, are not supported), got "prefer"'],
      ['PGAPPNAME', 'environment variable: must be 1 to 48 printable ASCII characters'],
    ]);
  });

  test('--dry-run shows a password from PGPASSWORD as masked, and the port from PGPORT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-config-'));
    try {
      const file = join(dir, 'config.js');
      await writeFile(file, `module.exports = { eventSource: { connectionString: 'postgres://h/src' }, replicationDestinations: [{ host: 'h', databaseName: 'dst' }] };`);
      const result = await runCli(['-c', file, '--dry-run'], { PGPASSWORD: 'env-secret-91', PGPORT: '6000', PGUSER: 'env-user' });
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('env-secret-91');
      expect(JSON.parse(result.stdout).eventSource).toEqual({ host: 'h', port: 6000, databaseName: 'src', user: 'env-user', password: '********' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('http', () => {
  test('port required, host 0.0.0.0 unless given', () => {
    expect(validateConfig({ ...config({ host: 'h', databaseName: 'src' }), http: { port: 9000 } }, 'test').http).toEqual({ port: 9000, host: '0.0.0.0' });
    expect(validateConfig({ ...config({ host: 'h', databaseName: 'src' }), http: { port: 9000, host: '127.0.0.1' } }, 'test').http).toEqual({ port: 9000, host: '127.0.0.1' });
    expect(validateConfig(config({ host: 'h', databaseName: 'src' }), 'test').http).toBeUndefined();
  });

  test.each([
    ['no port', { host: '::' }, [['http.port', 'required']]],
    ['port 0', { port: 0 }, [['http.port', 'must be an integer between 1 and 65535, got 0']]],
    ['a number instead of an object', 9000, [['http', 'must be an object such as { port, host }, got 9000']]],
    ['a misspelt key', { port: 9000, hots: 'x' }, [['http.hots', 'unknown key (did you mean host?)']]],
  ])('refuses %s', (_name, http, expected) => {
    expect(problemsOf({ ...config({ host: 'h', databaseName: 'src' }), http })).toEqual(expected);
  });
});

describe('TLS files are read at start-up', () => {
  let dir = '';
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-tls-config-'));
    await mkdir(join(dir, 'certs'));
    await writeFile(join(dir, 'certs', 'ca.pem'), PEM);
    await writeFile(join(dir, 'not-pem.txt'), 'hello');
    await writeFile(join(dir, 'locked.pem'), PEM);
    await chmod(join(dir, 'locked.pem'), 0o000);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(text: string): Promise<string> {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.js`);
    await writeFile(file, `module.exports = ${text};`);
    return file;
  }

  test('relative paths are taken from the config file\'s directory; the contents reach the driver, not the printed config', async () => {
    const file = await write(`{ eventSource: { host: 'h', databaseName: 's', ssl: { ca: 'certs/ca.pem' } }, replicationDestinations: [{ connectionString: 'postgres://h/d?sslmode=verify-full&sslrootcert=certs/ca.pem' }] }`);
    const loaded = await loadConfig(file, {});
    expect(loaded.eventSource.ssl).toEqual({ rejectUnauthorized: true, ca: join(dir, 'certs', 'ca.pem') });
    expect(loaded.replicationDestinations[0]?.ssl).toEqual({ rejectUnauthorized: true, ca: join(dir, 'certs', 'ca.pem') });
    expect(describeConfig(loaded)).not.toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(loaded)).not.toContain('BEGIN CERTIFICATE');
    const driver = clientConfig(loaded.eventSource, { connectTimeoutMs: 1000, applicationName: 'slate-replicator reader' });
    expect(driver.ssl).toEqual({ rejectUnauthorized: true, ca: PEM });
    expect(clientConfig(validateConfig(config({ host: 'h', databaseName: 's' }), 't').eventSource, { connectTimeoutMs: 1, applicationName: 'x' }).ssl).toBe(false);
  });

  test('a missing, unreadable or non-PEM file is a configuration problem with its path and reason', async () => {
    const file = await write(
      `{ eventSource: { host: 'h', databaseName: 's', ssl: { ca: 'missing.pem' } }, replicationDestinations: [{ host: 'h', databaseName: 'd', ssl: { cert: 'not-pem.txt', key: 'certs' } }, { host: 'h', databaseName: 'e', ssl: { ca: 'locked.pem' } }] }`,
    );
    let error: ConfigError | undefined;
    try {
      await loadConfig(file, {});
    } catch (thrown) {
      error = thrown as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const expected: [string, string][] = [
      ['eventSource.ssl.ca', `cannot be read: no such file (${join(dir, 'missing.pem')})`],
      ['replicationDestinations[0].ssl.cert', `is not a PEM file (no -----BEGIN line) (${join(dir, 'not-pem.txt')})`],
      ['replicationDestinations[0].ssl.key', `cannot be read: a directory, not a file (${join(dir, 'certs')})`],
    ];
    // root reads a mode-000 file anyway.
    if (userInfo().uid !== 0) expected.push(['replicationDestinations[1].ssl.ca', `cannot be read: permission denied (${join(dir, 'locked.pem')})`]);
    expect(error?.problems.map((p) => [p.path, p.message])).toEqual(expected);
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`eventSource.ssl.ca: cannot be read: no such file (${join(dir, 'missing.pem')})`);
  });
});
