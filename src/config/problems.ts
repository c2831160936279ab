/**
 * zod's issues, turned into the problems a user reads: a path written as in JavaScript
 * (`replicationDestinations[1].host`), a reason in plain words, one problem per unknown key
 * with a suggestion when the key looks like a misspelt known one.
 */
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `['replicationDestinations', 1, 'host']` -> `replicationDestinations[1].host`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A typed key this many edits (or fewer) from a known one is a misspelling of it. */
const MAX_EDITS = 2;
/** A typed key that starts a known one, or that a known one starts, is a near miss when they share this many characters (`pollInterval`, `connectTimeoutMs`, `database`). */
const MIN_PREFIX_CHARS = 4;

/** Other tools' names for our keys: spelling distance would suggest the wrong key for these. */
const ALIASES: Readonly<Record<string, string>> = {
  url: 'connectionString',
  uri: 'connectionString',
  dsn: 'connectionString',
  sslmode: 'ssl',
  tls: 'ssl',
  application_name: 'applicationName',
  dbname: 'databaseName',
};

/** The known key `typed` most likely meant, if any is close enough to suggest. */
export function suggestKey(typed: string, knownKeys: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  const alias = ALIASES[lower];
  if (alias !== undefined && knownKeys.includes(alias)) return alias;
  let best: { key: string; distance: number } | undefined;
  for (const key of knownKeys) {
    const known = key.toLowerCase();
    const distance = editDistance(lower, known);
    const shorter = Math.min(lower.length, known.length);
    const isPrefix = shorter >= MIN_PREFIX_CHARS && (known.startsWith(lower) || lower.startsWith(known));
    if ((distance <= MAX_EDITS || isPrefix) && (best === undefined || distance < best.distance)) {
      best = { key, distance };
    }
  }
  return best?.key;
}

/**
 * Looks through what wraps an object schema: defaults, optionals, a preprocess or a
 * transform (pipes), and a union (its object member: the others have no keys).
 */
function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodDefault || node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    else if (node instanceof z.ZodPipe) node = (node.in instanceof z.ZodTransform ? node.out : node.in) as z.ZodType;
    else if (node instanceof z.ZodUnion) node = (node.options.find((option) => unwrap(option as z.ZodType) instanceof z.ZodObject) ?? node.options[0]) as z.ZodType;
    else return node;
  }
}

/** The schema that validates the value at `path`. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  for (const segment of [...path, undefined]) {
    if (node !== undefined) node = unwrap(node);
    if (segment === undefined || node === undefined) return node;
    if (node instanceof z.ZodObject && typeof segment === 'string') node = node.shape[segment] as z.ZodType | undefined;
    else if (node instanceof z.ZodArray && typeof segment === 'number') node = node.element as z.ZodType;
    else return undefined;
  }
  return node;
}

function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const node = schemaAt(schema, path);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/**
 * A union (`ssl`: a boolean or an object) fails with one issue holding each member's issues.
 * When the value had the right type for one member, that member's issues say what is wrong
 * inside it (`ssl.ca: must be a file path`); otherwise the union's own reason does.
 */
function flattenUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union') return [issue];
    const inside = issue.errors.find(
      (member) => member.length > 0 && member.every((sub) => sub.path.length > 0 || sub.code === 'unrecognized_keys' || sub.code === 'custom'),
    );
    if (inside === undefined) return [issue];
    return flattenUnions(inside.map((sub) => ({ ...sub, path: [...issue.path, ...sub.path] }) as z.core.$ZodIssue));
  });
}

/**
 * One problem per thing to fix, in the order zod found them. The same reason at the same
 * path is given once (an out-of-range integer can fail two of zod's checks).
 */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (problem: ConfigProblem): void => {
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(problem);
  };
  for (const issue of flattenUnions(issues)) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const suggestion = suggestKey(key, known);
        add({
          path: formatPath([...issue.path, key]),
          message: suggestion === undefined ? 'unknown key' : `unknown key (did you mean ${suggestion}?)`,
        });
      }
    } else {
      add({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}
