/**
 * Plain-words descriptions of a value a user put in a configuration file, for the "got ..."
 * half of a problem's reason. They are short and never a dump of the value.
 */

/** The longest string quoted back to the user; longer ones are cut, so a reason stays one line. */
const MAX_QUOTED_CHARS = 40;

/** What kind of value this is, without the value itself: safe for secrets. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'nothing';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'bigint':
      return 'a bigint';
    case 'boolean':
      return 'a boolean';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return 'an object';
  }
}

/**
 * The value as the user would write it when that is short and telling (`0`, `1.5`, `NaN`,
 * `"10000" (a string)`, `null`), else its kind (`an array`). Never use it for a password.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n (a bigint)`;
    case 'string': {
      const quoted = value.length > MAX_QUOTED_CHARS ? `${value.slice(0, MAX_QUOTED_CHARS)}...` : value;
      return `${JSON.stringify(quoted)} (a string)`;
    }
    default:
      return describeType(value);
  }
}
