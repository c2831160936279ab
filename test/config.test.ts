import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeConfig } from '../src/config/describeConfig.js';
import { loadConfig, validateConfig } from '../src/config/load.js';
import { formatPath, suggestKey } from '../src/config/problems.js';
import { ConfigError, ExitCode } from '../src/errors.js';
import type { ConfigProblem } from '../src/errors.js';

type Config = Record<string, unknown>;

/** A small valid configuration; every case below changes one thing in a fresh copy. */
function base(): Config {
  return {
    eventSource: { host: 'localhost', databaseName: 'sourceDb', user: 'user1', password: 'pass1' },
    replicationDestinations: [{ host: 'localhost', databaseName: 'replicationDb1', user: 'user1', password: 'pass1' }],
  };
}

function withTop(patch: Config): Config {
  return { ...base(), ...patch };
}

function without(key: string): Config {
  const config = base();
  delete config[key];
  return config;
}

function withSource(patch: Config, drop: string[] = []): Config {
  const config = base();
  const source: Config = { ...(config.eventSource as Config), ...patch };
  for (const key of drop) delete source[key];
  return { ...config, eventSource: source };
}

function withDestinations(...destinations: unknown[]): Config {
  return { ...base(), replicationDestinations: destinations };
}

function dest(patch: Config = {}, drop: string[] = []): Config {
  const db: Config = { host: 'localhost', databaseName: 'replicationDb1', ...patch };
  for (const key of drop) delete db[key];
  return db;
}

/** The problems validateConfig reports, as [path, reason] pairs. */
function problemsOf(input: unknown): [string, string][] {
  try {
    validateConfig(input, 'test config');
  } catch (thrown) {
    if (thrown instanceof ConfigError) return thrown.problems.map((p: ConfigProblem) => [p.path, p.message]);
    throw thrown;
  }
  throw new Error('expected a ConfigError, the configuration was accepted');
}

const DB_SHAPE = 'must be an object such as { host, databaseName, user, password }';
const INT_EVENTS = 'must be an integer between 1 and 1000000';
const INT_PORT = 'must be an integer between 1 and 65535';
const INT_MS = (min: number) => `must be an integer between ${min} and 2147483647 (milliseconds)`;

const invalidConfigs: [string, unknown, [string, string][]][] = [
  // missing keys
  ['eventSource missing', without('eventSource'), [['eventSource', 'required']]],
  ['replicationDestinations missing', without('replicationDestinations'), [['replicationDestinations', 'required']]],
  ['empty object', {}, [['eventSource', 'required'], ['replicationDestinations', 'required']]],
  ['source host missing', withSource({}, ['host']), [['eventSource.host', 'required']]],
  ['source databaseName missing', withSource({}, ['databaseName']), [['eventSource.databaseName', 'required']]],
  ['destination host missing', withDestinations(dest({}, ['host'])), [['replicationDestinations[0].host', 'required']]],
  ['destination databaseName missing', withDestinations(dest({}, ['databaseName'])), [['replicationDestinations[0].databaseName', 'required']]],
  ['source host set to undefined (an unset env var)', withSource({ host: undefined }), [['eventSource.host', 'required']]],
  // wrong types for objects and arrays
  ['eventSource null', withTop({ eventSource: null }), [['eventSource', `${DB_SHAPE}, got null`]]],
  ['eventSource a string', withTop({ eventSource: 'localhost' }), [['eventSource', `${DB_SHAPE}, got "localhost" (a string)`]]],
  ['eventSource an array', withTop({ eventSource: [] }), [['eventSource', `${DB_SHAPE}, got an array`]]],
  [
    'replicationDestinations a single object',
    withTop({ replicationDestinations: dest() }),
    [['replicationDestinations', 'must be an array of databases, got an object (put a single database in [ ])']],
  ],
  [
    'replicationDestinations a string',
    withTop({ replicationDestinations: 'db1' }),
    [['replicationDestinations', 'must be an array of databases, got "db1" (a string)']],
  ],
  ['replicationDestinations null', withTop({ replicationDestinations: null }), [['replicationDestinations', 'must be an array of databases, got null']]],
  ['replicationDestinations empty', withDestinations(), [['replicationDestinations', 'must list at least one destination database']]],
  ['a destination null', withDestinations(null), [['replicationDestinations[0]', `${DB_SHAPE}, got null`]]],
  ['a destination a number', withDestinations(dest(), 7), [['replicationDestinations[1]', `${DB_SHAPE}, got 7`]]],
  // strings
  ['source host empty', withSource({ host: '' }), [['eventSource.host', 'must not be empty']]],
  ['source host blank', withSource({ host: '   ' }), [['eventSource.host', 'must not be empty']]],
  ['source host a number', withSource({ host: 127 }), [['eventSource.host', 'must be a string, got 127']]],
  ['destination databaseName empty', withDestinations(dest({ databaseName: '' })), [['replicationDestinations[0].databaseName', 'must not be empty']]],
  [
    'destination databaseName an array',
    withDestinations(dest({ databaseName: ['db'] })),
    [['replicationDestinations[0].databaseName', 'must be a string, got an array']],
  ],
  ['source user a number', withSource({ user: 42 }), [['eventSource.user', 'must be a string, got 42']]],
  ['source user null', withSource({ user: null }), [['eventSource.user', 'must be a string, got null']]],
  ['source password a number (value not quoted)', withSource({ password: 987654 }), [['eventSource.password', 'must be a string, got a number']]],
  ['destination password null', withDestinations(dest({ password: null })), [['replicationDestinations[0].password', 'must be a string, got null']]],
  ['destination password an object', withDestinations(dest({ password: { env: 'X' } })), [['replicationDestinations[0].password', 'must be a string, got an object']]],
  // ports
  ['source port 0', withSource({ port: 0 }), [['eventSource.port', `${INT_PORT}, got 0`]]],
  ['source port 65536', withSource({ port: 65536 }), [['eventSource.port', `${INT_PORT}, got 65536`]]],
  ['destination port negative', withDestinations(dest({ port: -1 })), [['replicationDestinations[0].port', `${INT_PORT}, got -1`]]],
  ['destination port a string', withDestinations(dest({ port: '5432' })), [['replicationDestinations[0].port', `${INT_PORT}, got "5432" (a string)`]]],
  ['destination port fractional', withDestinations(dest({ port: 5432.5 })), [['replicationDestinations[0].port', `${INT_PORT}, got 5432.5`]]],
  ['destination port null', withDestinations(dest({ port: null })), [['replicationDestinations[0].port', `${INT_PORT}, got null`]]],
  // maxEventsPerWrite
  ['maxEventsPerWrite 0', withTop({ maxEventsPerWrite: 0 }), [['maxEventsPerWrite', `${INT_EVENTS}, got 0`]]],
  ['maxEventsPerWrite negative', withTop({ maxEventsPerWrite: -5 }), [['maxEventsPerWrite', `${INT_EVENTS}, got -5`]]],
  ['maxEventsPerWrite above 1000000', withTop({ maxEventsPerWrite: 1_000_001 }), [['maxEventsPerWrite', `${INT_EVENTS}, got 1000001`]]],
  ['maxEventsPerWrite fractional', withTop({ maxEventsPerWrite: 1.5 }), [['maxEventsPerWrite', `${INT_EVENTS}, got 1.5`]]],
  ['maxEventsPerWrite NaN', withTop({ maxEventsPerWrite: NaN }), [['maxEventsPerWrite', `${INT_EVENTS}, got NaN`]]],
  ['maxEventsPerWrite Infinity', withTop({ maxEventsPerWrite: Infinity }), [['maxEventsPerWrite', `${INT_EVENTS}, got Infinity`]]],
  ['maxEventsPerWrite a string', withTop({ maxEventsPerWrite: '10000' }), [['maxEventsPerWrite', `${INT_EVENTS}, got "10000" (a string)`]]],
  ['maxEventsPerWrite a boolean', withTop({ maxEventsPerWrite: true }), [['maxEventsPerWrite', `${INT_EVENTS}, got true`]]],
  ['maxEventsPerWrite a bigint', withTop({ maxEventsPerWrite: 10n }), [['maxEventsPerWrite', `${INT_EVENTS}, got 10n (a bigint)`]]],
  ['maxEventsPerWrite past the safe integers (reported once)', withTop({ maxEventsPerWrite: 1e20 }), [['maxEventsPerWrite', `${INT_EVENTS}, got 100000000000000000000`]]],
  ['maxEventsPerWrite null', withTop({ maxEventsPerWrite: null }), [['maxEventsPerWrite', `${INT_EVENTS}, got null`]]],
  // connectTimeout and pollIntervalMs
  ['connectTimeout 0', withTop({ connectTimeout: 0 }), [['connectTimeout', `${INT_MS(1)}, got 0`]]],
  ['connectTimeout -Infinity', withTop({ connectTimeout: -Infinity }), [['connectTimeout', `${INT_MS(1)}, got -Infinity`]]],
  ['connectTimeout beyond what a timer can wait', withTop({ connectTimeout: 2_147_483_648 }), [['connectTimeout', `${INT_MS(1)}, got 2147483648`]]],
  ['connectTimeout a string with a unit', withTop({ connectTimeout: '15s' }), [['connectTimeout', `${INT_MS(1)}, got "15s" (a string)`]]],
  ['pollIntervalMs below 100', withTop({ pollIntervalMs: 99 }), [['pollIntervalMs', `${INT_MS(100)}, got 99`]]],
  ['pollIntervalMs fractional', withTop({ pollIntervalMs: 250.5 }), [['pollIntervalMs', `${INT_MS(100)}, got 250.5`]]],
  ['pollIntervalMs NaN', withTop({ pollIntervalMs: NaN }), [['pollIntervalMs', `${INT_MS(100)}, got NaN`]]],
  // unknown keys at every level
  ['top-level typo maxEventPerWrite', withTop({ maxEventPerWrite: 5000 }), [['maxEventPerWrite', 'unknown key (did you mean maxEventsPerWrite?)']]],
  ['top-level connectTimeoutMs', withTop({ connectTimeoutMs: 5000 }), [['connectTimeoutMs', 'unknown key (did you mean connectTimeout?)']]],
  ['top-level pollInterval', withTop({ pollInterval: 5000 }), [['pollInterval', 'unknown key (did you mean pollIntervalMs?)']]],
  ['top-level key unlike any', withTop({ logLevel: 'debug' }), [['logLevel', 'unknown key']]],
  ['top-level key that is not an identifier', withTop({ 'my key': 1 }), [['["my key"]', 'unknown key']]],
  ['eventSource database', withSource({ database: 'x' }), [['eventSource.database', 'unknown key (did you mean databaseName?)']]],
  ['eventSource hostname', withSource({ hostname: 'x' }), [['eventSource.hostname', 'unknown key (did you mean host?)']]],
  ['destination pasword', withDestinations(dest({ pasword: 'x' })), [['replicationDestinations[0].pasword', 'unknown key (did you mean password?)']]],
  [
    'second destination sslmode (libpq\'s name)',
    withDestinations(dest(), dest({ databaseName: 'replicationDb2', sslmode: 'require' })),
    [['replicationDestinations[1].sslmode', 'unknown key (did you mean ssl?)']],
  ],
  [
    'two unknown keys in one object',
    withSource({ Host: 'x', pwd: 'y' }),
    [
      ['eventSource.Host', 'unknown key (did you mean host?)'],
      ['eventSource.pwd', 'unknown key'],
    ],
  ],
  // distinct databases
  [
    'two destinations the same',
    withDestinations(dest(), dest()),
    [['replicationDestinations[1]', 'same database as replicationDestinations[0] (localhost:5432/replicationDb1)']],
  ],
  [
    'destinations differing only by host case',
    withDestinations(dest({ host: 'DB.example.com' }), dest({ host: 'db.EXAMPLE.com' })),
    [['replicationDestinations[1]', 'same database as replicationDestinations[0] (DB.example.com:5432/replicationDb1)']],
  ],
  [
    'default port equals explicit 5432',
    withDestinations(dest(), dest({ port: 5432 })),
    [['replicationDestinations[1]', 'same database as replicationDestinations[0] (localhost:5432/replicationDb1)']],
  ],
  [
    'a destination equal to the source',
    withDestinations(dest(), dest({ host: 'LOCALHOST', databaseName: 'sourceDb' })),
    [['replicationDestinations[1]', 'same database as eventSource (localhost:5432/sourceDb): a destination must not be the source']],
  ],
  [
    'a third destination repeating the first',
    withDestinations(dest(), dest({ databaseName: 'replicationDb2' }), dest()),
    [['replicationDestinations[2]', 'same database as replicationDestinations[0] (localhost:5432/replicationDb1)']],
  ],
  [
    'duplicates reported next to other problems',
    { ...withDestinations(dest(), dest()), maxEventsPerWrite: 0, eventSource: { host: '' } },
    [
      ['eventSource.host', 'must not be empty'],
      ['eventSource.databaseName', 'required'],
      ['maxEventsPerWrite', `${INT_EVENTS}, got 0`],
      ['replicationDestinations[1]', 'same database as replicationDestinations[0] (localhost:5432/replicationDb1)'],
    ],
  ],
  // the configuration itself is not an object
  ['configuration null', null, [['', 'the configuration must be an object with eventSource and replicationDestinations, got null']]],
  ['configuration an array', [base()], [['', 'the configuration must be an object with eventSource and replicationDestinations, got an array']]],
  ['configuration a number', 42, [['', 'the configuration must be an object with eventSource and replicationDestinations, got 42']]],
  ['configuration a function', () => base(), [['', 'the configuration must be an object with eventSource and replicationDestinations, got a function']]],
];

describe('validateConfig rejects', () => {
  test('at least 40 cases are covered', () => {
    expect(invalidConfigs.length).toBeGreaterThanOrEqual(40);
  });

  test.each(invalidConfigs)('%s', (_name, input, expected) => {
    expect(problemsOf(input)).toEqual(expected);
  });

  test('the error is a usage error naming its source', () => {
    let caught: unknown;
    try {
      validateConfig(withTop({ maxEventsPerWrite: 0 }), '/etc/slate/config.js');
    } catch (thrown) {
      caught = thrown;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.message).toBe('/etc/slate/config.js is invalid:\n  maxEventsPerWrite: must be an integer between 1 and 1000000, got 0');
  });

  test('a password is never quoted back, whatever is wrong around it', () => {
    const secret = 'pw-never-shown-1234';
    for (const input of [
      withSource({ password: secret, port: 0, extra: secret }),
      withDestinations(dest({ password: secret }), dest({ password: secret })),
    ]) {
      let message = '';
      try {
        validateConfig(input, 'test');
      } catch (thrown) {
        message = (thrown as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret);
    }
  });
});

describe('validateConfig accepts', () => {
  test('a minimal config, filling in every default', () => {
    expect(validateConfig(base(), 'test')).toEqual({
      eventSource: { host: 'localhost', port: 5432, databaseName: 'sourceDb', user: 'user1', password: 'pass1' },
      replicationDestinations: [{ host: 'localhost', port: 5432, databaseName: 'replicationDb1', user: 'user1', password: 'pass1' }],
      maxEventsPerWrite: 10_000,
      connectTimeout: 15_000,
      pollIntervalMs: 5_000,
    });
  });

  test('a legacy config with only the old keys', () => {
    const legacy = {
      maxEventsPerWrite: 10000,
      connectTimeout: 15000,
      eventSource: { host: 'localhost', databaseName: 'sourceDb', user: 'user1', password: 'pass1' },
      replicationDestinations: [
        { host: 'localhost', databaseName: 'replicationDb1', user: 'user1', password: 'pass1' },
        { host: 'localhost', databaseName: 'replicationDb2', user: 'user1', password: 'pass1' },
      ],
    };
    const config = validateConfig(legacy, 'test');
    expect(config.replicationDestinations.map((d) => d.databaseName)).toEqual(['replicationDb1', 'replicationDb2']);
    expect(config.pollIntervalMs).toBe(5000);
  });

  test('values the old tool did not allow: maxEventsPerWrite below 10000', () => {
    expect(validateConfig(withTop({ maxEventsPerWrite: 1 }), 'test').maxEventsPerWrite).toBe(1);
  });

  test.each([
    ['maxEventsPerWrite', 1_000_000],
    ['connectTimeout', 1],
    ['connectTimeout', 2_147_483_647],
    ['pollIntervalMs', 100],
  ])('the bound %s = %d', (key, value) => {
    expect(validateConfig(withTop({ [key]: value }), 'test')).toMatchObject({ [key]: value });
  });

  test('ports 1 and 65535', () => {
    const config = validateConfig(withDestinations(dest({ port: 1 }), dest({ port: 65535 })), 'test');
    expect(config.replicationDestinations.map((d) => d.port)).toEqual([1, 65535]);
  });

  test('no user and no password, or a password left undefined by an unset env var', () => {
    const config = validateConfig(
      { eventSource: { host: 'h', databaseName: 's' }, replicationDestinations: [{ host: 'h', databaseName: 'd', password: undefined }] },
      'test',
    );
    expect(config.eventSource).toEqual({ host: 'h', port: 5432, databaseName: 's' });
    expect(config.replicationDestinations[0]?.password).toBeUndefined();
  });

  test('an empty password (some setups use one)', () => {
    expect(validateConfig(withSource({ password: '' }), 'test').eventSource.password).toBe('');
  });

  test('same host on different ports, and databaseNames differing by case, are distinct', () => {
    const config = validateConfig(
      withDestinations(dest({ port: 5433 }), dest({ port: 5434 }), dest({ databaseName: 'ReplicationDb1', port: 5433 })),
      'test',
    );
    expect(config.replicationDestinations).toHaveLength(3);
  });

  test('localhost and 127.0.0.1 are compared as written (not resolved)', () => {
    const config = validateConfig(withDestinations(dest({ host: 'localhost' }), dest({ host: '127.0.0.1' })), 'test');
    expect(config.replicationDestinations).toHaveLength(2);
  });

  test('does not change its input', () => {
    const input = base();
    const copy = structuredClone(input);
    validateConfig(input, 'test');
    expect(input).toEqual(copy);
  });
});

describe('wording helpers', () => {
  test.each([
    [['replicationDestinations', 1, 'host'], 'replicationDestinations[1].host'],
    [['eventSource', 'port'], 'eventSource.port'],
    [[], ''],
    [['a-b'], '["a-b"]'],
  ] as [PropertyKey[], string][])('formatPath(%j) = %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  test.each([
    ['maxEventPerWrite', 'maxEventsPerWrite'],
    ['MAXEVENTSPERWRITE', 'maxEventsPerWrite'],
    ['pollinterval', 'pollIntervalMs'],
    ['eventsource', 'eventSource'],
    ['replicationDestination', 'replicationDestinations'],
    ['zzz', undefined],
    ['db', undefined],
  ])('suggestKey(%s) = %s', (typed, expected) => {
    const known = ['eventSource', 'replicationDestinations', 'maxEventsPerWrite', 'connectTimeout', 'pollIntervalMs'];
    expect(suggestKey(typed, known)).toBe(expected);
  });
});

describe('describeConfig', () => {
  test('prints the resolved config as JSON with every password masked', () => {
    const config = validateConfig(withDestinations(dest({ password: 'destSecret' }), dest({ databaseName: 'd2' })), 'test');
    const text = describeConfig(config);
    expect(text).not.toContain('pass1');
    expect(text).not.toContain('destSecret');
    const printed = JSON.parse(text) as Record<string, unknown>;
    expect(printed).toEqual({
      eventSource: { host: 'localhost', port: 5432, databaseName: 'sourceDb', user: 'user1', password: '********' },
      replicationDestinations: [
        { host: 'localhost', port: 5432, databaseName: 'replicationDb1', password: '********' },
        { host: 'localhost', port: 5432, databaseName: 'd2' },
      ],
      maxEventsPerWrite: 10000,
      connectTimeout: 15000,
      pollIntervalMs: 5000,
    });
  });
});

describe('loadConfig', () => {
  let dir = '';
  const validObject = JSON.stringify(base());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let fileCount = 0;
  /** Writes `text` to a new file named `name` in its own directory (with `packageJson` beside it, if given). */
  async function configFile(name: string, text: string, packageJson?: Config): Promise<string> {
    const sub = join(dir, `case${++fileCount}`);
    await mkdir(sub);
    if (packageJson !== undefined) await writeFile(join(sub, 'package.json'), JSON.stringify(packageJson));
    const file = join(sub, name);
    await writeFile(file, text);
    return file;
  }

  async function loadProblems(file: string): Promise<{ error: ConfigError; problems: [string, string][] }> {
    try {
      await loadConfig(file);
    } catch (thrown) {
      if (!(thrown instanceof ConfigError)) throw thrown;
      return { error: thrown, problems: thrown.problems.map((p) => [p.path, p.message]) };
    }
    throw new Error('expected a ConfigError, the file was accepted');
  }

  describe('reads', () => {
    test.each([
      ['CommonJS .js with no package.json', 'config.js', `module.exports = ${validObject};`, undefined],
      ['CommonJS .js in a "type": "commonjs" package', 'config.js', `module.exports = ${validObject};`, { type: 'commonjs' }],
      ['CommonJS .js in a "type": "module" package', 'config.js', `module.exports = ${validObject};`, { type: 'module' }],
      ['CommonJS via exports.key in a "type": "module" package', 'config.js', `const c = ${validObject};\nexports.eventSource = c.eventSource;\nexports.replicationDestinations = c.replicationDestinations;`, { type: 'module' }],
      ['ESM default export .js with no package.json', 'config.js', `export default ${validObject};`, undefined],
      ['ESM default export .js in a "type": "module" package', 'config.js', `const config = ${validObject};\nexport default config;`, { type: 'module' }],
      ['.cjs', 'config.cjs', `module.exports = ${validObject};`, { type: 'module' }],
      ['.mjs', 'config.mjs', `export default ${validObject};`, undefined],
      ['.json', 'config.json', validObject, undefined],
      ['.json with a byte order mark', 'config.json', `\uFEFF${validObject}`, undefined],
    ] as [string, string, string, Config | undefined][])('%s', async (_name, fileName, text, packageJson) => {
      const config = await loadConfig(await configFile(fileName, text, packageJson));
      expect(config.eventSource).toEqual({ host: 'localhost', port: 5432, databaseName: 'sourceDb', user: 'user1', password: 'pass1' });
      expect(config.maxEventsPerWrite).toBe(10000);
    });

    test('a CommonJS file that requires a file beside it, in a "type": "module" package', async () => {
      const file = await configFile('config.js', `const shared = require('./shared.cjs');\nmodule.exports = { ...shared, maxEventsPerWrite: 7 };`, { type: 'module' });
      await writeFile(join(file, '..', 'shared.cjs'), `module.exports = ${validObject};`);
      expect((await loadConfig(file)).maxEventsPerWrite).toBe(7);
    });

    test('a password from process.env', async () => {
      process.env.SLATE_TEST_CONFIG_PASSWORD = 'from-env';
      try {
        const file = await configFile(
          'config.js',
          `const c = ${validObject};\nc.eventSource.password = process.env.SLATE_TEST_CONFIG_PASSWORD;\nmodule.exports = c;`,
        );
        expect((await loadConfig(file)).eventSource.password).toBe('from-env');
      } finally {
        delete process.env.SLATE_TEST_CONFIG_PASSWORD;
      }
    });

    test('a path relative to the working directory', async () => {
      const file = await configFile('config.json', validObject);
      expect((await loadConfig(relative(process.cwd(), file))).replicationDestinations).toHaveLength(1);
    });

    test('the file again after it changed', async () => {
      const file = await configFile('config.js', `module.exports = { ...${validObject}, maxEventsPerWrite: 1 };`);
      expect((await loadConfig(file)).maxEventsPerWrite).toBe(1);
      await writeFile(file, `module.exports = { ...${validObject}, maxEventsPerWrite: 2 };`);
      expect((await loadConfig(file)).maxEventsPerWrite).toBe(2);
    });
  });

  describe('reports one problem naming the file when', () => {
    const exportCases: [string, string, string][] = [
      ['it exports an array', 'module.exports = [];', 'got an array'],
      ['it exports a number', 'module.exports = 42;', 'got 42'],
      ['it exports null', 'module.exports = null;', 'got null'],
      ['it exports a function', 'module.exports = () => ({});', 'got a function'],
      ['it exports a string', "module.exports = 'config';", 'got "config" (a string)'],
    ];
    test.each(exportCases)('%s', async (_name, text, got) => {
      const file = await configFile('config.js', text);
      const { error, problems } = await loadProblems(file);
      expect(problems).toEqual([['', `the configuration must be an object with eventSource and replicationDestinations, ${got}`]]);
      expect(error.message.startsWith(`${file} is invalid:\n`)).toBe(true);
    });

    test('it exports nothing (an empty file)', async () => {
      const { problems } = await loadProblems(await configFile('config.js', ''));
      expect(problems).toEqual([
        ['eventSource', 'required'],
        ['replicationDestinations', 'required'],
      ]);
    });

    test('the file does not exist', async () => {
      const file = join(dir, 'no-such-dir', 'config.js');
      const { error, problems } = await loadProblems(file);
      expect(problems).toEqual([['', 'cannot be read: no such file']]);
      expect(error.message).toBe(`${file} is invalid:\n  cannot be read: no such file`);
      expect(error.exitCode).toBe(ExitCode.usage);
    });

    test('a relative path that does not exist is named by its absolute path', async () => {
      const { error } = await loadProblems('no-such-config.js');
      expect(error.message).toBe(`${join(process.cwd(), 'no-such-config.js')} is invalid:\n  cannot be read: no such file`);
    });

    test('the path is a directory', async () => {
      const sub = join(dir, 'a-directory.js');
      await mkdir(sub);
      expect((await loadProblems(sub)).problems).toEqual([['', 'cannot be read: not a file']]);
    });

    test('the extension is not supported', async () => {
      const file = await configFile('config.yaml', 'eventSource: {}');
      expect((await loadProblems(file)).problems).toEqual([['', 'has an unsupported extension ".yaml": use .js, .cjs, .mjs or .json']]);
    });

    test('it throws while being evaluated', async () => {
      const file = await configFile('config.js', "const a = 1;\nthrow new Error('no config for you');\n");
      const { error, problems } = await loadProblems(file);
      expect(problems).toEqual([['', 'threw an error while being evaluated at line 2: Error: no config for you']]);
      expect(error.message).not.toMatch(/\n\s+at /);
    });

    test('it throws while being evaluated as ESM', async () => {
      const file = await configFile('config.mjs', "const a = 1;\n\nthrow new TypeError('bad');\nexport default {};\n");
      expect((await loadProblems(file)).problems).toEqual([['', 'threw an error while being evaluated at line 3: TypeError: bad']]);
    });

    test('it reads an undefined variable', async () => {
      const file = await configFile('config.js', 'module.exports = { eventSource: sourceSettings };');
      expect((await loadProblems(file)).problems).toEqual([
        ['', 'threw an error while being evaluated at line 1: ReferenceError: sourceSettings is not defined'],
      ]);
    });

    test('it throws in a "type": "module" package after the CommonJS fallback', async () => {
      const file = await configFile('config.js', "module.exports = {};\nthrow new Error('late');\n", { type: 'module' });
      expect((await loadProblems(file)).problems).toEqual([['', 'threw an error while being evaluated at line 2: Error: late']]);
    });

    test('it has a syntax error, which is reported without quoting the line (it may hold a password)', async () => {
      const file = await configFile('config.js', "module.exports = {\n  eventSource: { password: 'syntax-secret' x },\n};\n");
      const { error, problems } = await loadProblems(file);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.[0]).toBe('');
      expect(problems[0]?.[1]).toMatch(/^has a syntax error at line 2: /);
      expect(error.message).not.toContain('syntax-secret');
      expect(error.cause).toBeUndefined();
    });

    test('it has a syntax error in a "type": "module" package', async () => {
      const file = await configFile('config.js', 'module.exports = {\n  a: 1,,\n};\n', { type: 'module' });
      const { problems } = await loadProblems(file);
      expect(problems[0]?.[1]).toMatch(/^has a syntax error/);
    });

    test('it is an ES module with no default export', async () => {
      const file = await configFile('config.mjs', 'export const eventSource = {};');
      expect((await loadProblems(file)).problems).toEqual([
        ['', 'has no default export: write `export default { ... }` or `module.exports = { ... }`'],
      ]);
    });

    test('it is invalid JSON, reported by line and column without quoting the text', async () => {
      const file = await configFile('config.json', '{\n  "eventSource": { "password": "json-secret" x }\n}\n');
      const { error, problems } = await loadProblems(file);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.[1]).toMatch(/^is not valid JSON( at line 2, column \d+)?: /);
      expect(error.message).not.toContain('json-secret');
    });

    test('it is an empty JSON file', async () => {
      const file = await configFile('config.json', '');
      expect((await loadProblems(file)).problems).toEqual([['', 'is not valid JSON: Unexpected end of JSON input']]);
    });

    test('it is JSON holding an array', async () => {
      const file = await configFile('config.json', '[]');
      expect((await loadProblems(file)).problems).toEqual([
        ['', 'the configuration must be an object with eventSource and replicationDestinations, got an array'],
      ]);
    });
  });

  test('every problem of one file is reported together', async () => {
    const file = await configFile(
      'config.js',
      `module.exports = {
        maxEventPerWrite: 5000,
        connectTimeout: 0,
        eventSource: { host: '', databaseName: 'sourceDb', port: 'x' },
        replicationDestinations: [
          { host: 'localhost', databaseName: 'db1' },
          { host: 'LOCALHOST', databaseName: 'db1', pasword: 'p' },
          { databaseName: 'db3', password: 1234 },
        ],
      };`,
    );
    const { error, problems } = await loadProblems(file);
    expect(problems).toEqual([
      ['eventSource.host', 'must not be empty'],
      ['eventSource.port', 'must be an integer between 1 and 65535, got "x" (a string)'],
      ['replicationDestinations[1].pasword', 'unknown key (did you mean password?)'],
      ['replicationDestinations[2].host', 'required'],
      ['replicationDestinations[2].password', 'must be a string, got a number'],
      ['connectTimeout', 'must be an integer between 1 and 2147483647 (milliseconds), got 0'],
      ['maxEventPerWrite', 'unknown key (did you mean maxEventsPerWrite?)'],
      ['replicationDestinations[1]', 'same database as replicationDestinations[0] (localhost:5432/db1)'],
    ]);
    expect(error.message.split('\n')).toHaveLength(1 + problems.length);
    expect(error.message).not.toContain('1234');
  });
});
