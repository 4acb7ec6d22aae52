// Value parsers for flags and environment variables; each throws commander's InvalidArgumentError with the allowed form.
import { InvalidArgumentError } from 'commander';
import { FAULT_TYPES } from '../signaling/faults.js';
import { wildcardProblem } from '../http/origins.js';
import { usageError } from './output.js';

/** A whole number from min to max; `unit` (e.g. " of milliseconds") goes into the message. Serve options take their bounds from config.ts RANGES. */
export function parseIntegerIn(min: number, max: number, unit = ''): (value: string) => number {
  return (value) => {
    const trimmed = value.trim();
    if (!/^\d+$/.test(trimmed)) {
      throw new InvalidArgumentError(`It must be a whole number${unit} from ${min} to ${max}.`);
    }
    const number = Number(trimmed);
    if (number < min || number > max) {
      throw new InvalidArgumentError(`It must be a whole number${unit} from ${min} to ${max}.`);
    }
    return number;
  };
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', '']);

/** Parses the boolean spellings environment variables use; undefined when the word is not one of them. */
export function parseBooleanWord(value: string): boolean | undefined {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/**
 * Collects `--cors a b,c` and `PEER_SIGNAL_CORS="a b,c"` into one list of origins (`*` only where origins.ts can match it).
 * Spaces separate as commas do: an environment variable is one value, which the shell does not split.
 */
export function collectOrigins(value: string, previous: string[] | undefined): string[] {
  const origins = value
    .split(/[\s,]+/)
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  for (const origin of origins) {
    if (origin !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+\/?$/i.test(origin)) {
      throw new InvalidArgumentError(`"${origin}" is not an origin; write it as scheme://host[:port], e.g. https://app.example.com.`);
    }
    const problem = wildcardProblem(origin);
    if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  }
  return [...(previous ?? []), ...origins];
}

/** Edit distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a small edit distance, or undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Bytes as a whole number with an optional binary unit: `65536`, `64k`, `64KiB`, `1m`, `1MiB`. */
export function parseBytesIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
    const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
    const bytes = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) {
      throw new InvalidArgumentError(`It must be a size in bytes from ${min} to ${max}, such as 65536, 64KiB or 1MiB.`);
    }
    return bytes;
  };
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in whole seconds: `3600`, `90s`, `15m`, `1h`, `7d`. */
export function parseDurationSeconds(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(value.trim());
  const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new InvalidArgumentError('It must be a positive duration such as 3600, 90s, 15m, 1h or 7d.');
  }
  return seconds;
}

/** Secrets must be long enough that guessing is hopeless; the message never repeats the value. */
export function checkSecret(flag: string, envName: string, value: string | undefined): void {
  if (value !== undefined && value.length < 16) {
    throw usageError(`${flag} (or ${envName}) must be at least 16 characters; use a long random value such as the output of openssl rand -base64 32`);
  }
}

/** A switch's optional value (`--proxied true`) or its variable: true/false/1/0/yes/no/on/off. */
export function parseSwitchValue(value: string): boolean {
  const parsed = parseBooleanWord(value);
  if (parsed === undefined) throw new InvalidArgumentError('It must be one of true/false/1/0/yes/no/on/off.');
  return parsed;
}

/** `--log-time on|off` (any switch spelling), as on or off. */
export function parseOnOff(value: string): 'on' | 'off' {
  return parseSwitchValue(value) ? 'on' : 'off';
}

/**
 * `TYPE=VALUE` pairs for --fault-drop / --fault-delay (`CANDIDATE=0.5`, also comma-separated and
 * repeatable), collected into one table; `max` bounds the value (1 for a probability, 60000 ms for a delay).
 */
export function parseFaultPairs(max: number, what: string): (value: string, previous: Record<string, number> | undefined) => Record<string, number> {
  return (value, previous) => {
    const table = { ...(previous ?? {}) };
    for (const pair of value.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Z-]+)=(\d+(?:\.\d+)?)$/.exec(pair);
      const type = match?.[1];
      const amount = Number(match?.[2]);
      if (match === null || !(FAULT_TYPES as readonly string[]).includes(type!) || !(amount >= 0 && amount <= max)) {
        throw new InvalidArgumentError(`Write TYPE=${what} with TYPE one of ${FAULT_TYPES.join(', ')} and ${what} from 0 to ${max}, e.g. CANDIDATE=${max === 1 ? '0.5' : '200'}.`);
      }
      table[type!] = amount;
    }
    return table;
  };
}
