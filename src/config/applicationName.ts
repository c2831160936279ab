/**
 * A configured application name replaces `slate-replicator` at the start of each session's
 * application_name (`<name> listener`, `<name> reader`, `<name> writer`, ...). PostgreSQL
 * keeps 63 bytes of it and turns anything but printable ASCII into `?`, so the name is
 * limited to what survives with the longest role word after it.
 */
export const APPLICATION_NAME_MAX_CHARS = 48;

export const APPLICATION_NAME_PROBLEM = `must be 1 to ${APPLICATION_NAME_MAX_CHARS} printable ASCII characters`;

export function isApplicationName(text: string): boolean {
  return text.trim() !== '' && text.length <= APPLICATION_NAME_MAX_CHARS && /^[\x20-\x7e]+$/.test(text);
}
