// Log lines: JSON lines equal JSON.stringify of {time, level, event, ...fields}; text lines quote what needs it; levels filter.
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFields } from '../src/logger.js';

function capture(json: boolean, level: 'debug' | 'info' | 'warn' = 'info', time?: boolean) {
  const lines: string[] = [];
  const logger = createLogger({ level, json, time, write: (line) => lines.push(line) });
  return { logger, lines };
}

describe('logger', () => {
  it('writes the JSON that JSON.stringify would, field order and escaping included', () => {
    const { logger, lines } = capture(true);
    const cases: LogFields[] = [
      {},
      { id: 'peer-1', ip: '127.0.0.1' },
      { id: 'q"uote\\back\nnew', code: 1006, ok: true, missing: undefined, reason: 'ünïcödé ✓ \u2028' },
      { n: -0.5, big: 1e21, empty: '' },
    ];
    for (const fields of cases) logger.info('peer "connected"', fields);
    expect(lines).toHaveLength(cases.length);
    lines.forEach((line, i) => {
      expect(line.endsWith('\n')).toBe(true);
      const parsed = JSON.parse(line) as { time: string; level: string; event: string };
      expect(Number.isNaN(Date.parse(parsed.time))).toBe(false);
      expect(line).toBe(JSON.stringify({ time: parsed.time, level: 'info', event: 'peer "connected"', ...cases[i] }) + '\n');
    });
  });

  it('drops lines below its level', () => {
    const { logger, lines } = capture(true, 'warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['w', 'e']);
  });

  it('writes text lines with quoted values where needed', () => {
    const { logger, lines } = capture(false, 'info', false);
    logger.info('peer connected', { id: 'a b', ip: '127.0.0.1', empty: '', gone: undefined });
    expect(lines).toEqual(['info  peer connected id="a b" ip=127.0.0.1 empty=""\n']);
  });

  it('starts text lines with an ISO timestamp unless told not to (--log-time off)', () => {
    const stamped = capture(false);
    stamped.logger.warn('redis connection lost', { url: 'redis://h:6379' });
    expect(stamped.lines).toHaveLength(1);
    expect(stamped.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn  redis connection lost url=redis:\/\/h:6379\n$/);
    const bare = capture(false, 'info', false);
    bare.logger.warn('redis connection lost');
    expect(bare.lines).toEqual(['warn  redis connection lost\n']);
  });
});
