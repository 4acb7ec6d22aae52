// When a spinner may run: a TTY with a positive width, in the foreground of its terminal, not CI, not TERM=dumb, not --json.
import { describe, expect, it } from 'vitest';
import { inForeground, spinnerAllowed } from '../../src/cli/output.js';
import { requires } from '../support/prerequisites.js';

/** /proc/<pid>/stat up to tpgid: pid (comm) state ppid pgrp session tty_nr tpgid. */
function stat(comm: string, pgrp: number, tpgid: number): string {
  return `4242 (${comm}) S 1 ${pgrp} ${pgrp} 34816 ${tpgid} 4194560 0 0 0 0\n`;
}

requires('the /proc tests', process.platform === 'linux' ? undefined : `inForeground reads /proc, which ${process.platform} lacks`).describe('inForeground', () => {
  it.each([
    ['its group is the terminal foreground group', stat('node', 4242, 4242), true],
    ['another group holds the terminal (a background job, or under timeout)', stat('node', 4242, 4300), false],
    ['no controlling terminal (tpgid -1)', stat('node', 4242, -1), false],
    ['a command name with spaces and parentheses', stat('a (b) c', 77, 77), true],
  ])('%s', (_name, text, expected) => {
    expect(inForeground(() => text)).toBe(expected);
  });

  it('assumes the foreground when /proc cannot be read', () => {
    expect(
      inForeground(() => {
        throw new Error('ENOENT');
      }),
    ).toBe(true);
  });

  it('reads the real /proc/self/stat', () => {
    expect(typeof inForeground()).toBe('boolean');
  });
});

describe('spinnerAllowed', () => {
  it.each([
    ['not a TTY', false, {}, { isTTY: false, columns: 80 }],
    ['a TTY with zero columns', false, {}, { isTTY: true, columns: 0 }],
    ['a TTY without a width', false, {}, { isTTY: true }],
    ['--json', true, {}, { isTTY: true, columns: 80 }],
    ['CI=true', false, { CI: 'true' }, { isTTY: true, columns: 80 }],
    ['TERM=dumb', false, { TERM: 'dumb' }, { isTTY: true, columns: 80 }],
  ])('is off for %s', (_name, json, env: NodeJS.ProcessEnv, stderr) => {
    expect(spinnerAllowed(json, env, stderr)).toBe(false);
  });
});
