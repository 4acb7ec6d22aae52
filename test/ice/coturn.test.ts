// The route's TURN credentials against a real coturn (use-auth-secret): they allocate relays; tampered, expired or foreign ones are refused.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTurnCredentials } from '../../src/ice/credentials.js';
import { createSignalServer, type SignalServer } from '../../src/server.js';
import { coturnProblem, startCoturn, type Coturn } from '../support/coturn.js';
import { requires } from '../support/prerequisites.js';

const SECRET = 'coturn-shared-secret-0123456789';
/** coturn needs a moment per allocation on a busy machine; uclient itself is bounded at 15 s. */
const TEST_TIMEOUT_MS = 30_000;

interface TurnEntry {
  urls: string[];
  username: string;
  credential: string;
}

/** The lines coturn logged for this username (it logs each session's user with -v). */
function sessionLines(coturn: Coturn, username: string): string {
  return coturn
    .log()
    .split('\n')
    .filter((line) => line.includes(`<${username}>`))
    .join('\n');
}

requires('the coturn tests', coturnProblem()).describe('TURN credentials from the route against coturn', () => {
  let coturn: Coturn | undefined;
  let server: SignalServer | undefined;
  let origin = '';

  beforeAll(async () => {
    coturn = await startCoturn({ secret: SECRET });
    server = createSignalServer({ host: '127.0.0.1', port: 0, turnSecret: SECRET, turnUrls: [coturn.url], turnTtlSeconds: 600 });
    await server.listen();
    origin = `http://127.0.0.1:${server.address()!.port}`;
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    // By PID: startCoturn keeps it and SIGTERMs exactly that process.
    await coturn?.stop();
  }, 15_000);

  async function fetchTurn(id: string): Promise<TurnEntry> {
    const response = await fetch(`${origin}/peerjs/peerjs/ice-servers?id=${encodeURIComponent(id)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { iceServers: TurnEntry[] };
    expect(body.iceServers).toHaveLength(1);
    expect(body.iceServers[0]!.urls).toEqual([coturn!.url]);
    return body.iceServers[0]!;
  }

  it('allocates relays with the credentials the route hands out, and packets come back through them', async () => {
    const turn = await fetchTurn('alice');
    const result = await coturn!.allocate(turn.username, turn.credential);
    expect(result.ok, result.output).toBe(true);
    expect(sessionLines(coturn!, turn.username)).toMatch(/incoming packet ALLOCATE processed, success/);
  }, TEST_TIMEOUT_MS);

  it('allocates for a random id too (no ?id=)', async () => {
    const body = (await (await fetch(`${origin}/peerjs/peerjs/ice-servers`)).json()) as { iceServers: TurnEntry[] };
    const turn = body.iceServers[0]!;
    expect(turn.username).toMatch(/^\d+:[0-9a-f-]{36}$/);
    expect((await coturn!.allocate(turn.username, turn.credential)).ok).toBe(true);
  }, TEST_TIMEOUT_MS);

  it.each([
    ['a credential with one character changed', (turn: TurnEntry) => ({ ...turn, credential: flip(turn.credential) })],
    ['a username whose id was changed (the credential signs the name)', (turn: TurnEntry) => ({ ...turn, username: turn.username.replace(/:.*/, ':mallory') })],
    ['a username with a later expiry', (turn: TurnEntry) => ({ ...turn, username: turn.username.replace(/^\d+/, (expiry) => String(Number(expiry) + 86400)) })],
  ])('refuses %s', async (_what, tamper) => {
    const forged = tamper(await fetchTurn('bob'));
    const result = await coturn!.allocate(forged.username, forged.credential);
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toMatch(/Cannot complete Allocation/);
    expect(sessionLines(coturn!, forged.username)).not.toMatch(/ALLOCATE processed, success/);
  }, TEST_TIMEOUT_MS);

  it('refuses an expired credential, correctly signed', async () => {
    // Valid for 60 s from two minutes ago: signed with the right secret, expired a minute ago.
    const expired = createTurnCredentials(SECRET, 'carol', 60, Date.now() - 120_000);
    const result = await coturn!.allocate(expired.username, expired.credential);
    expect(result.ok, result.output).toBe(false);
    expect(result.output).toMatch(/Cannot complete Allocation/);
  }, TEST_TIMEOUT_MS);

  it('refuses a credential signed with another secret', async () => {
    const foreign = createTurnCredentials(`${SECRET}-other`, 'dave', 600);
    const result = await coturn!.allocate(foreign.username, foreign.credential);
    expect(result.ok, result.output).toBe(false);
    // The control: the same name signed with coturn's secret is accepted.
    const control = createHmac('sha1', SECRET).update(foreign.username).digest('base64');
    expect((await coturn!.allocate(foreign.username, control)).ok).toBe(true);
  }, TEST_TIMEOUT_MS);
});

/** The credential with its first character replaced by another base64 character. */
function flip(credential: string): string {
  return (credential[0] === 'A' ? 'B' : 'A') + credential.slice(1);
}
