// End-to-end tests of `peer-signal kick` and `peer-signal faults set|show|clear` against a spawned server, and of the --fault-* flags.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANSI,
  cleanup,
  connectPeer,
  freedPort,
  runCli,
  startServer,
  stderrLines,
  within,
  EXIT_TIMEOUT_MS,
  type ExitResult,
  type Peer,
} from './helpers.js';

const adminToken = 'admin-token-0123456789';
const AUTH = ['--admin-token', adminToken];

afterEach(cleanup);

/** One `error:` line on stderr and nothing on stdout; returns the line. */
function onlyError(result: ExitResult): string {
  expect(result.stdout).toBe('');
  const lines = stderrLines(result);
  expect(lines, result.stderr).toEqual([expect.stringMatching(/^error: /)]);
  expect(result.stderr).not.toMatch(ANSI);
  return lines[0]!;
}

/** The faults the server has in force, asked over HTTP with the token. */
async function faultsOf(url: string): Promise<unknown> {
  const response = await fetch(`${url}/admin/faults`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(response.status).toBe(200);
  return response.json();
}

/** alice sends a CANDIDATE, then an OFFER, to bob: the frames bob gets before the OFFER. */
async function candidatesBeforeOffer(alice: Peer, bob: Peer): Promise<unknown[]> {
  alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { candidate: 'c' } });
  alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'o' } });
  const before: unknown[] = [];
  for (let frame = await bob.next(); frame.type !== 'OFFER'; frame = await bob.next()) before.push(frame.type);
  return before;
}

describe('kick', () => {
  it('disconnects the peer (its client sees close code 4002) and says so on stderr; --json prints the answer', async () => {
    const server = await startServer(AUTH);
    const alice = await connectPeer(server.url, 'alice');
    const bob = await connectPeer(server.url, 'bob');
    const text = await runCli(['kick', 'alice', '--url', server.url, ...AUTH]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toBe('disconnected alice\n');
    expect((await within(alice.closed, EXIT_TIMEOUT_MS, 'waiting for alice to be closed')).code).toBe(4002);

    const json = await runCli(['kick', 'bob', '--json', '--url', server.url, ...AUTH]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ disconnected: 'bob' });
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect((await within(bob.closed, EXIT_TIMEOUT_MS, 'waiting for bob to be closed')).code).toBe(4002);
  });

  it('finds the server from HOST/PORT/PATH_PREFIX and takes the token from PEER_SIGNAL_ADMIN_TOKEN', async () => {
    const server = await startServer(['--path', '/signal', ...AUTH]);
    const alice = await connectPeer(server.url, 'alice');
    const env = { HOST: '127.0.0.1', PORT: String(server.port), PATH_PREFIX: '/signal', PEER_SIGNAL_ADMIN_TOKEN: adminToken };
    const result = await runCli(['kick', 'alice'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect((await within(alice.closed, EXIT_TIMEOUT_MS, 'waiting for alice to be closed')).code).toBe(4002);
  });

  it('an id nobody holds: exit 1 with one error line naming it', async () => {
    const server = await startServer(AUTH);
    const result = await runCli(['kick', 'nobody', '--url', server.url, ...AUTH]);
    expect(onlyError(result)).toMatch(/no peer "nobody" is connected/);
    expect(result.code).toBe(1);
  });
});

describe('faults set | show | clear', () => {
  it('set replaces the faults in force (and they act on relays), show prints them, clear stops them; text and --json', async () => {
    const server = await startServer(AUTH);
    const target = ['--url', server.url, ...AUTH];
    const alice = await connectPeer(server.url, 'alice');
    const bob = await connectPeer(server.url, 'bob');

    const set = await runCli(['faults', 'set', '--drop', 'CANDIDATE=1', '--delay', 'OFFER=200', '--delay', 'ANSWER=50', '--seed', '1', ...target]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('drop  CANDIDATE with probability 1\ndelay OFFER by 200 ms\ndelay ANSWER by 50 ms\nseed  1\n');
    const spec = { drop: { CANDIDATE: 1 }, delayMs: { OFFER: 200, ANSWER: 50 }, seed: 1 };
    expect(await faultsOf(server.url)).toEqual({ faults: spec });
    expect(await candidatesBeforeOffer(alice, bob)).toEqual([]);

    const show = await runCli(['faults', 'show', '--json', ...target]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(show.stdout)).toEqual({ faults: spec });

    const clear = await runCli(['faults', 'clear', ...target]);
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toBe('no faults in force\n');
    expect(await candidatesBeforeOffer(alice, bob)).toEqual(['CANDIDATE']);

    const empty = await runCli(['faults', 'show', ...target]);
    expect(empty.stdout).toBe('no faults in force\n');
    const emptyJson = await runCli(['faults', 'set', '--json', ...target]);
    expect(JSON.parse(emptyJson.stdout)).toEqual({ faults: { drop: {}, delayMs: {} } });
  });
});

describe('admin command errors', () => {
  it.each([
    ['kick', ['kick', 'alice']],
    ['faults show', ['faults', 'show']],
    ['faults set', ['faults', 'set', '--drop', 'CANDIDATE=1']],
  ])('%s without a token: one error line naming --admin-token, exit 2', async (_name, args) => {
    const server = await startServer(AUTH);
    const result = await runCli([...args, '--url', server.url]);
    expect(onlyError(result)).toMatch(/--admin-token.*PEER_SIGNAL_ADMIN_TOKEN/);
    expect(result.code).toBe(2);
    expect(await faultsOf(server.url)).toEqual({ faults: { drop: {}, delayMs: {} } });
  });

  it.each([
    ['kick', ['kick', 'alice'], ['--admin-token', 'wrong-token-0123456789'], {}],
    ['faults clear', ['faults', 'clear'], ['--admin-token', 'wrong-token-0123456789'], {}],
    ['faults show (PEER_SIGNAL_ADMIN_TOKEN)', ['faults', 'show'], [], { PEER_SIGNAL_ADMIN_TOKEN: 'wrong-token-0123456789' }],
  ])('%s with a wrong token: one error line, exit 1, the token not repeated', async (_name, args, token: string[], env: Record<string, string>) => {
    const server = await startServer(['--fault-drop', 'CANDIDATE=1', ...AUTH]);
    const alice = await connectPeer(server.url, 'alice');
    const result = await runCli([...args, '--url', server.url, ...token], { env });
    const line = onlyError(result);
    expect(line).toMatch(/admin token was refused/);
    expect(line).not.toContain('wrong-token');
    expect(result.code).toBe(1);
    // Nothing was done.
    expect(await faultsOf(server.url)).toEqual({ faults: { drop: { CANDIDATE: 1 }, delayMs: {} } });
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
  });

  it.each([
    ['kick', ['kick', 'alice']],
    ['faults show', ['faults', 'show']],
    ['faults set', ['faults', 'set', '--drop', 'CANDIDATE=1']],
  ])('%s against a server without --admin-token: the error says to start it with --admin-token, exit 1', async (_name, args) => {
    const server = await startServer();
    await connectPeer(server.url, 'alice');
    const result = await runCli([...args, '--url', server.url, ...AUTH]);
    expect(onlyError(result)).toMatch(/has no admin routes: start the server with --admin-token/);
    expect(result.code).toBe(1);
  });

  it.each([
    ['--drop FOO=2', ['--drop', 'FOO=2']],
    ['--drop CANDIDATE=2', ['--drop', 'CANDIDATE=2']],
    ['--drop CANDIDATE', ['--drop', 'CANDIDATE']],
    ['--delay OFFER=60001', ['--delay', 'OFFER=60001']],
    ['--seed -1', ['--seed', '-1']],
  ])('faults set %s: one error line, exit 2, nothing sent', async (_name, flags) => {
    const server = await startServer(AUTH);
    const result = await runCli(['faults', 'set', ...flags, '--url', server.url, ...AUTH]);
    expect(onlyError(result)).toMatch(/--drop|--delay|--seed/);
    expect(result.code).toBe(2);
    expect(await faultsOf(server.url)).toEqual({ faults: { drop: {}, delayMs: {} } });
  });

  it.each([[['kick', 'alice']], [['faults', 'show']]])('%j with nothing listening: one error line, exit 1', async (args) => {
    const port = await freedPort();
    const result = await runCli([...args, '--url', `http://127.0.0.1:${port}/peerjs`, ...AUTH]);
    expect(onlyError(result)).toMatch(new RegExp(`no server answered at http://127\\.0\\.0\\.1:${port}/peerjs .*ECONNREFUSED`));
    expect(result.code).toBe(1);
  });
});

describe('faults from the start: --fault-drop, --fault-delay, --fault-seed', () => {
  it('are in force from the first message, and shown by faults show', async () => {
    const server = await startServer([
      '--fault-drop', 'CANDIDATE=1,LEAVE=0.5',
      '--fault-drop', 'EXPIRE=0.25',
      '--fault-delay', 'OFFER=20',
      '--fault-seed', '3',
      ...AUTH,
    ]);
    const alice = await connectPeer(server.url, 'alice');
    const bob = await connectPeer(server.url, 'bob');
    expect(await candidatesBeforeOffer(alice, bob)).toEqual([]);
    const show = await runCli(['faults', 'show', '--json', '--url', server.url, ...AUTH]);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual({ faults: { drop: { CANDIDATE: 1, LEAVE: 0.5, EXPIRE: 0.25 }, delayMs: { OFFER: 20 }, seed: 3 } });
  });

  it('work without --admin-token (which only the admin routes need)', async () => {
    const server = await startServer(['--fault-drop', 'CANDIDATE=1']);
    const alice = await connectPeer(server.url, 'alice');
    const bob = await connectPeer(server.url, 'bob');
    expect(await candidatesBeforeOffer(alice, bob)).toEqual([]);
  });

  it.each([
    ['--fault-drop CANDIDATE=1.5', ['--fault-drop', 'CANDIDATE=1.5']],
    ['--fault-delay HEARTBEAT=10', ['--fault-delay', 'HEARTBEAT=10']],
    ['--fault-seed x', ['--fault-drop', 'CANDIDATE=1', '--fault-seed', 'x']],
  ])('%s: a usage error, exit 2', async (_name, flags) => {
    const result = await runCli([...flags, '--port', '0', '--host', '127.0.0.1']);
    expect(onlyError(result)).toMatch(/--fault-(drop|delay|seed)/);
    expect(result.code).toBe(2);
  });
});
