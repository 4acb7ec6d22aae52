// README is part of the product: its configuration table must match the serve option table (flags, env vars, DEFAULTS).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_OPTIONS, defaultOf, isSwitch, longFlag, type ServeOption } from '../src/cli/options.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** From the `## Configuration` heading to the next `## ` heading (its `###` subsections included). */
const start = readme.search(/^## Configuration$/m);
const end = readme.indexOf('\n## ', start + 1);
const section = start === -1 ? '' : readme.slice(start, end === -1 ? undefined : end);
const rows = section
  .split('\n')
  .filter((line) => line.startsWith('| `-'))
  // Cells split on unescaped pipes; a pipe inside a cell is written `\|` (as in `--log-time <on\|off>`).
  .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll('\\|', '|')))
  .map(([, flag, env, fallback]) => ({ flag: flag!, env: env!, fallback: fallback! }));

const longOf = (cell: string): string => /--[a-z-]+/.exec(cell)![0];
const visible = SERVE_OPTIONS.filter((option) => option.aliasOf === undefined);
/** Options main.ts gives every command; the README lists them with the serve options. */
const COMMON = [
  { flag: '`--no-color`', env: '`NO_COLOR`', fallback: 'colour on terminals' },
  { flag: '`--debug`', env: '`DEBUG=peer-signal`', fallback: 'off' },
];

/** How the README writes a default: `9000`, off for a switch, none for an unset value, any for an empty origin list. */
function readmeDefault(option: ServeOption): string {
  const value = defaultOf(option);
  if (isSwitch(option)) return value === true ? 'on' : 'off';
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'any' : `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}

describe('README configuration table', () => {
  it.each(visible.map((option) => [longFlag(option), option] as const))('has a row for %s with its flags, env var and default', (long, option) => {
    const row = rows.find((candidate) => longOf(candidate.flag) === long);
    expect(row, `README row for ${long}`).toBeDefined();
    expect(row!.flag).toBe(`\`${option.flags}\``);
    expect(row!.env, `env cell of ${long}`).toBe(option.env === undefined ? '' : `\`${option.env}\``);
    expect(row!.fallback, `default cell of ${long}`).toBe(readmeDefault(option));
  });

  it('has rows for the options every command shares', () => {
    for (const common of COMMON) expect(rows.find((row) => row.flag === common.flag)).toEqual(common);
  });

  it('names no flag the CLI does not have, and none twice', () => {
    const known = [...visible.map((option) => `\`${option.flags}\``), ...COMMON.map((common) => common.flag)];
    expect(rows.map((row) => row.flag).sort()).toEqual(known.sort());
  });

  it('states the test command that .ci/run runs (on each Node major version)', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toMatch(/^npm test\s/m);
    // The command itself, run with each Node version first on PATH.
    expect(ci).toMatch(/^\s*if PATH="\$bin:\$PATH" npm test; then$/m);
    expect(ci).toMatch(/^NODE_MAJORS=\(20 22 24\)$/m);
  });
});
