// peerjs in headless Chromium, relays only: credentials from GET {prefix}/{key}/ice-servers carry a DataConnection through a real coturn.
// coturn starts in a network namespace of its own (only lo); the driver (peer-signal, the page server, Chromium) joins it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { coturnProblem, startCoturn, type Coturn } from '../support/coturn.js';
import { browserProblems, requires } from '../support/prerequisites.js';
import { useDriver } from './browser/driver-start.js';

const DRIVER = fileURLToPath(new URL('./browser-turn-driver.mjs', import.meta.url));
const SECRET = 'browser-turn-secret-0123456789ab';
/** coturn, then the driver: the server, the page server and Chromium up within a few seconds each. */
const READY_MS = 40_000;
/** The driver bounds the scenario at 15 s. */
const SCENARIO_WAIT_MS = 25_000;
const STOP_MS = 10_000;

interface Candidate {
  candidateType: string;
  address: string;
  port: number;
  protocol: string;
  relayProtocol?: string;
  url?: string;
}

interface Route {
  state: string;
  local: Candidate;
  remote: Candidate;
  gathered: string[];
  policy: string;
}

interface PeerSide {
  id: string;
  ttl: number;
  iceServers: Array<{ urls: string[]; username?: string }>;
}

interface RelayDetails {
  a: PeerSide;
  b: PeerSide;
  receivedByA: string;
  receivedByB: string;
  outgoing: Route;
  accepted: Route;
}

interface DriverRecord {
  event: string;
  name?: string;
  ok?: boolean;
  details?: unknown;
  error?: string;
  console?: string[];
  serverLog?: string[];
  cleanup?: Record<string, unknown>;
}

const browserTurn = requires('the browser TURN test', ...browserProblems(), coturnProblem());

browserTurn.describe('peerjs in Chromium through coturn with credentials from peer-signal', () => {
  let coturn: Coturn | undefined;
  // Before the driver starts, and (after hooks run in reverse) stopped after it: coturn's process holds the namespace the driver runs in.
  beforeAll(async () => {
    coturn = await startCoturn({ secret: SECRET, privateNetwork: true });
  }, 20_000);
  afterAll(() => coturn?.stop(), 15_000);
  const driver = useDriver<DriverRecord>(DRIVER, 'browser TURN driver', {
    readyMs: READY_MS,
    stopMs: STOP_MS,
    built: ['dist/index.js', 'dist/cli.js'],
    command: (node) => coturn!.inNetwork(node),
    env: () => ({ PEER_SIGNAL_E2E_TURN_URL: coturn!.url, PEER_SIGNAL_E2E_TURN_SECRET: SECRET }),
  });

  async function relayDetails(): Promise<RelayDetails> {
    const record = await driver().wait('scenario:relay-data-connection', SCENARIO_WAIT_MS);
    if (!record.ok) {
      throw new Error(
        `the scenario failed in Chromium: ${record.error}\npage console:\n  ${(record.console ?? []).join('\n  ')}\n` +
          `server log:\n  ${(record.serverLog ?? []).join('\n  ')}\ncoturn log (tail):\n${coturn!.log().slice(-4000)}`,
      );
    }
    return record.details as RelayDetails;
  }

  it('hands each peer coturn credentials for its own id', async () => {
    const d = await relayDetails();
    for (const side of [d.a, d.b]) {
      expect(side.ttl).toBe(600);
      expect(side.iceServers).toEqual([{ urls: [coturn!.url], username: expect.stringMatching(new RegExp(`^\\d+:${side.id}$`)) }]);
    }
  }, SCENARIO_WAIT_MS + 5000);

  it('opens a DataConnection whose selected candidate pair is relay to relay at both ends, and data flows both ways', async () => {
    const d = await relayDetails();
    expect(d.receivedByB).toBe('hello from a, through the relay');
    expect(d.receivedByA).toBe('hello from b, through the relay');
    for (const route of [d.outgoing, d.accepted]) {
      expect(route.policy).toBe('relay');
      // With iceTransportPolicy 'relay' Chromium gathers nothing but relay candidates.
      expect(route.gathered).toEqual(['relay']);
      expect(route.state).toBe('succeeded');
      expect(route.local).toMatchObject({ candidateType: 'relay', address: '127.0.0.1', relayProtocol: 'udp', url: coturn!.url });
      expect(route.remote).toMatchObject({ candidateType: 'relay', address: '127.0.0.1' });
    }
  }, SCENARIO_WAIT_MS + 5000);

  it("shows coturn's side: an allocation per peer under the username the route signed", async () => {
    const d = await relayDetails();
    const log = coturn!.log();
    for (const side of [d.a, d.b]) {
      const username = side.iceServers[0]!.username!;
      expect(log).toContain(`user <${username}>: incoming packet ALLOCATE processed, success`);
    }
    expect(log).toMatch(/CREATE_PERMISSION processed, success/);
  }, SCENARIO_WAIT_MS + 5000);

  it('closes the browser and the server afterwards', async () => {
    const done = await driver().wait('done', SCENARIO_WAIT_MS);
    expect(done.cleanup).toMatchObject({ browser: 'ok', pages: 'ok', server: 'ok' });
    await expect.poll(() => driver().exit, { timeout: 5000 }).toEqual({ code: 0, signal: null });
  }, SCENARIO_WAIT_MS + 5000);
});
