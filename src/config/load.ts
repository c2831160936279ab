/**
 * Reading a configuration file: `.js`, `.cjs`, `.mjs` or `.json`, anywhere on disk.
 *
 * Every existing config file is CommonJS (`module.exports = { ... }`), while this package
 * is `"type": "module"` and a user's file may sit in a directory whose package.json says
 * either. A `.js` file is therefore first `require`d, which is how the legacy tool loaded
 * it, and falls back by what Node reports:
 * - ESM that `require` cannot load (ERR_REQUIRE_ESM, or `export`/`import` syntax on a Node
 *   without require(esm)): `import()` it and take its default export.
 * - CommonJS inside a `"type": "module"` scope (Node evaluates it as ESM and stops at
 *   `module is not defined in ES module scope`): evaluate its text as CommonJS, as the
 *   legacy tool's Node did. Statements before the first use of `module` have then run
 *   twice; a config file has nothing there that minds.
 *
 * A file that cannot be read, evaluated or parsed gives one problem naming the file, with
 * a line number when Node reports one, and never a stack trace.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { ConfigError, coerceError } from '../errors.js';
import type { ReplicatorConfig } from '../types.js';
import type { Environment } from './environment.js';
import { readTlsFiles } from './tlsFiles.js';
import { validateConfig } from './validate.js';

export { validateConfig } from './validate.js';

const SUPPORTED_EXTENSIONS = ['.js', '.cjs', '.mjs', '.json'];

/** Error codes Node gives when `require` meets an ES module it will not load synchronously. */
const REQUIRE_ESM_CODES = new Set(['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);
/** SyntaxErrors a CommonJS parse gives for ES module syntax (Node without require(esm)). */
const ESM_SYNTAX = /Cannot use import statement outside a module|Unexpected token 'export'|Cannot use 'import\.meta' outside a module/;
/** The ReferenceError Node gives when a CommonJS file runs as ESM (a "type": "module" scope). */
const COMMONJS_IN_ESM_SCOPE = /^(module|exports|require|__filename|__dirname) is not defined in ES module scope/;

/** A problem with the file as a whole (it has no path inside the configuration). */
function fileProblem(file: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError(file, [{ path: '', message }], cause);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first line of `file` that the error's stack points at, if any. */
function lineIn(file: string, error: Error): number | undefined {
  const where = new RegExp(`(?:${escapeRegExp(file)}|${escapeRegExp(pathToFileURL(file).href)}):(\\d+)`);
  const match = where.exec(error.stack ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * The one problem for a file that failed while being compiled or run. A SyntaxError's
 * stack quotes the offending source line, which may hold a password, so only its line
 * number is kept and it is not attached as the cause.
 */
function evaluationProblem(file: string, thrown: unknown): ConfigError {
  const error = coerceError(thrown);
  const line = lineIn(file, error);
  const at = line === undefined ? '' : ` at line ${line}`;
  if (error.name === 'SyntaxError') return fileProblem(file, `has a syntax error${at}: ${firstLine(error.message)}`);
  return fileProblem(file, `threw an error while being evaluated${at}: ${error.name}: ${firstLine(error.message)}`, error);
}

function isModuleNamespace(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<PropertyKey, unknown>;
  // require(esm) and import() give a namespace; transpiled ESM sets __esModule on exports.
  return record[Symbol.toStringTag] === 'Module' || (record.__esModule === true && 'default' in record);
}

/** The configuration an evaluated module exports: `module.exports`, or an ES module's default. */
function exported(file: string, moduleValue: unknown): unknown {
  if (!isModuleNamespace(moduleValue)) return moduleValue;
  if (!('default' in moduleValue)) {
    throw fileProblem(file, 'has no default export: write `export default { ... }` or `module.exports = { ... }`');
  }
  return moduleValue.default;
}

async function importModule(file: string): Promise<unknown> {
  try {
    return exported(file, await import(pathToFileURL(file).href));
  } catch (thrown) {
    if (thrown instanceof ConfigError) throw thrown;
    throw evaluationProblem(file, thrown);
  }
}

/** Runs `source` the way Node's CommonJS loader would, whatever package.json says. */
function evaluateCommonJs(file: string, source: string): unknown {
  const run = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  const module = { exports: {} as unknown, filename: file, id: file };
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

async function loadJavaScript(file: string): Promise<unknown> {
  if (extname(file).toLowerCase() === '.mjs') return importModule(file);
  const require = createRequire(file);
  // A fresh evaluation each time: a file edited since the last load is read again.
  delete require.cache[file];
  try {
    return exported(file, require(file));
  } catch (thrown) {
    if (thrown instanceof ConfigError) throw thrown;
    const error = coerceError(thrown);
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && REQUIRE_ESM_CODES.has(code)) return importModule(file);
    if (error.name === 'SyntaxError' && ESM_SYNTAX.test(error.message)) return importModule(file);
    if (error.name === 'ReferenceError' && COMMONJS_IN_ESM_SCOPE.test(error.message)) {
      try {
        return exported(file, evaluateCommonJs(file, await readFile(file, 'utf8')));
      } catch (again) {
        if (again instanceof ConfigError) throw again;
        throw evaluationProblem(file, again);
      }
    }
    throw evaluationProblem(file, error);
  }
}

/**
 * JSON.parse's message can quote the text around the mistake, which may hold a password:
 * keep the message without the quote, and turn "position N" into a line and column.
 */
function parseJson(file: string, text: string): unknown {
  try {
    // A byte order mark is legal in a file but not in JSON.parse's input.
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (thrown) {
    const message = coerceError(thrown).message.replace(/, ".*" is not valid JSON$/s, '');
    const position = /at position (\d+)/.exec(message)?.[1];
    let at = '';
    if (position !== undefined) {
      const before = text.replace(/^\uFEFF/, '').slice(0, Number(position)).split('\n');
      at = ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
    }
    throw fileProblem(file, `is not valid JSON${at}: ${message.replace(/ in JSON at position \d+.*$/s, '')}`);
  }
}

function readProblem(file: string, thrown: unknown): ConfigError {
  const code = (thrown as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return fileProblem(file, 'cannot be read: no such file', thrown);
  if (code === 'EACCES' || code === 'EPERM') return fileProblem(file, 'cannot be read: permission denied', thrown);
  return fileProblem(file, `cannot be read: ${coerceError(thrown).message}`, thrown);
}

/** The value the file defines, before validation. */
async function readConfigValue(file: string): Promise<unknown> {
  const extension = extname(file).toLowerCase();
  if (!SUPPORTED_EXTENSIONS.includes(extension)) {
    throw fileProblem(file, `has an unsupported extension "${extension}": use .js, .cjs, .mjs or .json`);
  }
  try {
    const info = await stat(file);
    if (!info.isFile()) throw fileProblem(file, 'cannot be read: not a file');
  } catch (thrown) {
    if (thrown instanceof ConfigError) throw thrown;
    throw readProblem(file, thrown);
  }
  if (extension !== '.json') return loadJavaScript(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (thrown) {
    throw readProblem(file, thrown);
  }
  return parseJson(file, text);
}

/**
 * The resolved configuration in `file` (a path relative to the working directory or
 * absolute), or a ConfigError naming the file's absolute path that lists every problem.
 * `env` gives the PG* defaults (see environment.ts). Once the rest is valid, the TLS files
 * the configuration names are read (relative to the file's directory), and their problems
 * reported the same way.
 */
export async function loadConfig(file: string, env: Environment = process.env): Promise<ReplicatorConfig> {
  const absolute = resolve(file);
  const config = validateConfig(await readConfigValue(absolute), absolute, env);
  const problems = await readTlsFiles(config, dirname(absolute));
  if (problems.length > 0) throw new ConfigError(absolute, problems);
  return config;
}
