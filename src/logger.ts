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

export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level];
  const colorLevel = options.colorLevel ?? ((_level, label) => label);
  const emit = (level: Exclude<LogLevel, 'silent'>, event: string, fields: LogFields = {}): void => {
    if (SEVERITY[level] < threshold) return;
    if (options.json) {
      options.write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + '\n');
    } else {
      options.write(`${colorLevel(level, level.padEnd(5))} ${event}${formatText(fields)}\n`);
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
