// README is part of the product: its configuration table must match DEFAULTS and the real --help.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config.js';
import { createServeCommand } from '../src/cli/serve.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Client configuration'));
const rows = section
  .split('\n')
  .filter((line) => line.startsWith('| `-'))
  .map((line) => line.split('|').map((cell) => cell.trim()))
  .map(([, flag, env, fallback]) => ({ flag: flag!, env: env!, fallback: fallback! }));

const longFlag = (cell: string): string => /--[a-z-]+/.exec(cell)![0];
const serve = createServeCommand();
const visible = serve.options.filter((option) => !option.hidden);

describe('README configuration table', () => {
  it('lists every visible serve option with its env var', () => {
    for (const option of visible) {
      const row = rows.find((candidate) => longFlag(candidate.flag) === option.long);
      expect(row, `README row for ${option.long}`).toBeDefined();
      if (option.envVar) expect(row!.env).toBe(`\`${option.envVar}\``);
    }
  });

  it('names no flag the CLI does not have', () => {
    const known = new Set([...visible.map((option) => option.long), '--no-color', '--debug']);
    for (const row of rows) expect(known, row.flag).toContain(longFlag(row.flag));
  });

  it.each([
    ['--port', DEFAULTS.port],
    ['--host', DEFAULTS.host],
    ['--path', DEFAULTS.path],
    ['--key', DEFAULTS.key],
    ['--expire-timeout', DEFAULTS.expireTimeoutMs],
    ['--alive-timeout', DEFAULTS.aliveTimeoutMs],
    ['--concurrent-limit', DEFAULTS.concurrentLimit],
    ['--max-message-size', DEFAULTS.maxMessageSizeBytes],
    ['--rate-limit', DEFAULTS.rateLimitPerSec],
    ['--rate-burst', DEFAULTS.rateBurst],
    ['--queue-limit', DEFAULTS.queueLimit],
    ['--queue-bytes', DEFAULTS.queueBytes],
    ['--queue-total-bytes', DEFAULTS.queueTotalBytes],
    ['--max-buffered', DEFAULTS.maxBufferedBytes],
    ['--max-connections-per-ip', DEFAULTS.maxConnectionsPerIp],
    ['--handshake-timeout', DEFAULTS.handshakeTimeoutMs],
  ])('shows the real default of %s', (flag, value) => {
    const row = rows.find((candidate) => longFlag(candidate.flag) === flag);
    expect(row?.fallback).toBe(`\`${value}\``);
  });

  it('states the test command that .ci/run runs', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toMatch(/^npm test\s/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
