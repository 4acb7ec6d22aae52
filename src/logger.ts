// Levelled logging as text lines (for people) or JSON lines (for machines); keys and tokens are never passed in.
import type { LogLevel } from './config.js';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  level: LogLevel;
  /** JSON lines `{"time","level","event",...fields}` instead of text. */
  json: boolean;
  /** Start text lines with an ISO timestamp (JSON lines always have `time`). Default true. */
  time?: boolean;
  write(line: string): void;
  /** Colours a level label for text output; identity when colour is off. */
  colorLevel?: (level: Exclude<LogLevel, 'silent'>, label: string) => string;
}

function formatText(fields: LogFields): string {
  let out = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    out += ` ${name}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return out;
}

/** One ISO timestamp per millisecond: a busy server logs many lines within one. */
function createClock(): () => string {
  let lastMs = -1;
  let lastIso = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastIso = new Date(now).toISOString();
    }
    return lastIso;
  };
}

/**
 * `{"time","level","event",...fields}` written out directly: the same text JSON.stringify gives for
 * that object, without building it (a line per connection adds up). Field names must not be
 * time, level or event.
 */
function formatJson(time: string, level: string, event: string, fields: LogFields): string {
  let line = `{"time":"${time}","level":"${level}","event":${JSON.stringify(event)}`;
  for (const name in fields) {
    const value = fields[name];
    if (value !== undefined) line += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return line + '}\n';
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level];
  const colorLevel = options.colorLevel ?? ((_level, label) => label);
  const clock = createClock();
  const stamp = options.time === false ? () => '' : () => `${clock()} `;
  const emit = (level: Exclude<LogLevel, 'silent'>, event: string, fields: LogFields = {}): void => {
    if (SEVERITY[level] < threshold) return;
    if (options.json) {
      options.write(formatJson(clock(), level, event, fields));
    } else {
      options.write(`${stamp()}${colorLevel(level, level.padEnd(5))} ${event}${formatText(fields)}\n`);
    }
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}

const noop = (): void => {};

/** The library default: a server embedded in someone's app says nothing unless given a logger. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
