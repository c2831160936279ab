/**
 * Logging: bunyan records, written as JSON lines (what a container's log collector reads)
 * or as short human lines when stdout is a terminal or `pretty` is asked for.
 * Passwords never reach a record: the `config`/`db` serializers mask them.
 */
import bunyan from 'bunyan';
import type { Writable } from 'node:stream';

export type Logger = bunyan;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Least severe level written; default info. */
  level?: LogLevel | undefined;
  /** Default: pretty when the stream is a terminal, JSON otherwise. */
  format?: LogFormat | undefined;
  stream?: Writable;
}

const MASK = '********';

/** A deep copy of `value` where every `password` key holds a mask instead of its value. */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => maskSecrets(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] = key === 'password' && item !== undefined ? MASK : maskSecrets(item);
  }
  return out as T;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const BUNYAN_CORE = new Set(['name', 'hostname', 'pid', 'level', 'msg', 'time', 'v', 'src', 'err']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One human line per record: `15:04:05.123 INFO  message key=value ...`, error stack indented below. */
export function formatPretty(record: Record<string, unknown>): string {
  const time = record.time instanceof Date ? record.time : new Date(String(record.time));
  const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key, value]) => !BUNYAN_CORE.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  let line = `${time.toISOString().slice(11, 23)} ${level} ${String(record.msg ?? '')}`;
  if (fields.length > 0) line += ` ${fields.join(' ')}`;
  const err = record.err as { message?: string; stack?: string } | undefined;
  if (err) line += `\n    ${(err.stack ?? err.message ?? '').split('\n').join('\n    ')}`;
  return `${line}\n`;
}

class PrettyStream {
  constructor(private readonly out: Writable) {}
  write(record: Record<string, unknown>): void {
    this.out.write(formatPretty(record));
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const out = options.stream ?? process.stdout;
  const format = options.format ?? ((out as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const level = options.level ?? 'info';
  const serializers = {
    err: bunyan.stdSerializers.err,
    config: maskSecrets,
    db: maskSecrets,
  };
  if (format === 'pretty') {
    return bunyan.createLogger({
      name: 'slate-replicator',
      serializers,
      streams: [{ level, type: 'raw', stream: new PrettyStream(out) as unknown as NodeJS.WritableStream }],
    });
  }
  return bunyan.createLogger({ name: 'slate-replicator', serializers, streams: [{ level, stream: out }] });
}
