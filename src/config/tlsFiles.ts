/**
 * The PEM files a database's `ssl` names (`ca`, `cert`, `key`). The loader reads them at
 * start-up, so a missing or unreadable file is reported with the configuration's other
 * problems instead of failing the first connection; relative paths are taken from the
 * configuration file's directory. The contents stay out of the configuration object (it is
 * printed by --dry-run and logged): they are kept beside it, keyed by its `ssl` object.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, coerceError } from '../errors.js';
import type { ConfigProblem } from '../errors.js';
import type { DatabaseConfig, ReplicatorConfig, TlsConfig } from '../types.js';

const FILE_KEYS = ['ca', 'cert', 'key'] as const;
type FileKey = (typeof FILE_KEYS)[number];

export type TlsFileContents = Partial<Record<FileKey, string>>;

const contentsOf = new WeakMap<TlsConfig, TlsFileContents>();

/** Why a file cannot serve as PEM, or undefined when it can. */
function pemProblem(text: string): string | undefined {
  return text.includes('-----BEGIN ') ? undefined : 'is not a PEM file (no -----BEGIN line)';
}

function readProblem(file: string, thrown: unknown): string {
  const code = (thrown as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `cannot be read: no such file (${file})`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot be read: permission denied (${file})`;
  if (code === 'EISDIR') return `cannot be read: a directory, not a file (${file})`;
  return `cannot be read: ${coerceError(thrown).message} (${file})`;
}

function entries(config: ReplicatorConfig): Array<[string, DatabaseConfig]> {
  return [
    ['eventSource', config.eventSource],
    ...config.replicationDestinations.map((db, i): [string, DatabaseConfig] => [`replicationDestinations[${i}]`, db]),
  ];
}

/**
 * Makes every TLS file path of `config` absolute (relative to `baseDir`) and reads the
 * files. Returns one problem per file that cannot be used; `config` is ready to connect
 * with when there are none.
 */
export async function readTlsFiles(config: ReplicatorConfig, baseDir: string): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const reads = new Map<string, Promise<string>>();
  for (const [path, db] of entries(config)) {
    const tls = db.ssl;
    if (tls === undefined || tls === false) continue;
    const contents: TlsFileContents = {};
    for (const key of FILE_KEYS) {
      const named = tls[key];
      if (named === undefined) continue;
      const file = isAbsolute(named) ? named : resolve(baseDir, named);
      tls[key] = file;
      let read = reads.get(file);
      if (read === undefined) {
        read = readFile(file, 'utf8');
        read.catch(() => {});
        reads.set(file, read);
      }
      try {
        const text = await read;
        const problem = pemProblem(text);
        if (problem === undefined) contents[key] = text;
        else problems.push({ path: `${path}.ssl.${key}`, message: `${problem} (${file})` });
      } catch (thrown) {
        problems.push({ path: `${path}.ssl.${key}`, message: readProblem(file, thrown) });
      }
    }
    contentsOf.set(tls, contents);
  }
  return problems;
}

/**
 * The PEM contents for a connection: those read at start-up, or, for a configuration that
 * did not come through the loader, read now (a ConfigError if that fails).
 */
export function tlsFileContents(tls: TlsConfig): TlsFileContents {
  let contents = contentsOf.get(tls);
  if (contents === undefined) {
    contents = {};
    const problems: ConfigProblem[] = [];
    for (const key of FILE_KEYS) {
      const file = tls[key];
      if (file === undefined) continue;
      try {
        contents[key] = readFileSync(file, 'utf8');
      } catch (thrown) {
        problems.push({ path: `ssl.${key}`, message: readProblem(file, thrown) });
      }
    }
    if (problems.length > 0) throw new ConfigError('the TLS settings', problems);
    contentsOf.set(tls, contents);
  }
  return contents;
}
