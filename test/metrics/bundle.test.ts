// The built CLI: --metrics (or PEER_SIGNAL_METRICS) serves /metrics from a lazy chunk, and no other chunk holds prom-client.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpGet, ROOT, startServer } from '../e2e/helpers.js';

afterEach(cleanup);

describe('metrics in the bundle', () => {
  it.each([
    [['--metrics'], {}, 200],
    [[], { PEER_SIGNAL_METRICS: 'true' }, 200],
    [['--metrics'], { PEER_SIGNAL_METRICS: 'false' }, 200],
    [[], { PEER_SIGNAL_METRICS: 'false' }, 404],
    [[], {}, 404],
  ] as Array<[string[], Record<string, string>, number]>)('args %o with env %o: GET /metrics answers %i', async (args, env, expected) => {
    const server = await startServer(args, { env });
    const answer = await httpGet(`http://127.0.0.1:${server.port}/metrics`);
    expect(answer.status).toBe(expected);
    if (expected === 200) {
      expect(answer.body).toMatch(/^peer_signal_relayed_messages_total\{type="OFFER"\} 0$/m);
      expect(answer.body).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    }
  });

  it('keeps prom-client in one chunk that is only ever imported dynamically', () => {
    const dist = join(ROOT, 'dist');
    const chunks = readdirSync(dist).filter((name) => name.endsWith('.js'));
    const texts = new Map(chunks.map((name) => [name, readFileSync(join(dist, name), 'utf8')]));
    // A string only prom-client's default metrics contain.
    const holders = chunks.filter((name) => texts.get(name)!.includes('nodejs_eventloop_lag'));
    expect(holders).toHaveLength(1);
    const [lazy] = holders as [string];
    const staticImport = new RegExp(`(from|import)\\s*["']\\./${lazy.replace('.', '\\.')}["']`);
    for (const [name, text] of texts) expect(text, `${name} imports ${lazy} statically`).not.toMatch(staticImport);
    expect([...texts.values()].some((text) => text.includes(`import("./${lazy}")`))).toBe(true);
  });
});
