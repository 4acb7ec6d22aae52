// Floods against the built server in its own process: one client misbehaves, a well-behaved pair keeps relaying, RSS stays bounded.
//
// Each test spawns `node bin/peer-signal.js --port 0 --host 127.0.0.1 --json --log-level warn` plus its limit flags,
// reads the port from the first stdout line, and reads the server's RSS from /proc/<pid>/status while it floods it.
// Meanwhile alice and bob exchange an OFFER/ANSWER every PAIR_INTERVAL_MS; every one of them must arrive, in order,
// with the right src. Run `npm run build` first.
import { DESTINATION_OVERHEAD_BYTES, MESSAGE_OVERHEAD_BYTES } from '../../src/signaling/realm.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { within } from '../support/deadline.js';
import { serverEnv } from '../support/server-env.mjs';
import { clientFrame } from '../support/ws-frames.js';

const BIN = fileURLToPath(new URL('../../bin/peer-signal.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const HOST = '127.0.0.1';
/** The bound on the server's resident memory in every test (it idles at about 50 MB). */
const RSS_BOUND_MB = 200;
const PAIR_INTERVAL_MS = 50;
const TEST_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------------------------------------------
// The server process.

interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  stderr: string;
  /** Resident set size now, in MB. */
  rssMb(): number;
  /** Highest RSS seen by any rssMb() call or sample() so far. */
  maxRssMb: number;
}

/** Every server process spawned, registered at once: one that never prints its listening line is killed too. */
const children: ChildProcess[] = [];
const sockets: Array<{ destroy(): void }> = [];
const timers: NodeJS.Timeout[] = [];

async function startServer(flags: readonly string[] = []): Promise<ServerProcess> {
  if (!existsSync(DIST)) throw new Error('dist/cli.js is missing; run `npm run build` first');
  const child = spawn(process.execPath, [BIN, '--port', '0', '--host', HOST, '--json', '--log-level', 'warn', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serverEnv(),
  });
  children.push(child);
  const pid = child.pid!;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    if (server !== undefined) server.stderr = stderr;
  });
  let server: ServerProcess | undefined;
  const line = await within(
    new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buffered += chunk;
        const end = buffered.indexOf('\n');
        if (end !== -1) resolve(buffered.slice(0, end));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
    }),
    10_000,
    'the server to print its listening line',
  );
  const { port } = JSON.parse(line) as { port: number };
  const created: ServerProcess = {
    child,
    pid,
    port,
    stderr,
    maxRssMb: 0,
    rssMb() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const mb = Number(match![1]) / 1024;
      created.maxRssMb = Math.max(created.maxRssMb, mb);
      return mb;
    },
  };
  server = created;
  created.rssMb();
  return created;
}

/** Samples the server's RSS every 50 ms until stopped (kept in maxRssMb). */
function sampleRss(server: ServerProcess): () => void {
  const timer = setInterval(() => {
    try {
      server.rssMb();
    } catch {
      clearInterval(timer);
    }
  }, 50);
  timers.push(timer);
  return () => clearInterval(timer);
}

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGKILL');
      await within(exited, 5000, `server ${child.pid} to exit`);
    }),
  );
});

function getJson(port: number, path: string): Promise<unknown> {
  return within(
    new Promise((resolve, reject) => {
      httpGet({ host: HOST, port, path, agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject);
    }),
    5000,
    `GET ${path}`,
  );
}

async function connectedPeers(port: number): Promise<number> {
  return ((await getJson(port, '/health')) as { peers: number }).peers;
}

// ---------------------------------------------------------------------------------------------------------------
// Clients.

interface Client {
  readonly ws: WebSocket;
  readonly id: string;
  /** Every text frame, in order. */
  readonly texts: string[];
  readonly frames: Array<Record<string, unknown>>;
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  onFrame: ((frame: Record<string, unknown>, text: string) => void) | undefined;
  send(message: unknown): void;
}

function client(port: number, id: string, options: { token?: string; localAddress?: string; query?: string } = {}): Client {
  const query = options.query ?? `key=peerjs&id=${encodeURIComponent(id)}&token=${options.token ?? `token-${id}`}`;
  const ws = new WebSocket(`ws://${HOST}:${port}/peerjs/peerjs?${query}`, { perMessageDeflate: false, localAddress: options.localAddress });
  sockets.push({ destroy: () => ws.terminate() });
  const created: Client = {
    ws,
    id,
    texts: [],
    frames: [],
    closeCode: undefined,
    closed: new Promise<number>((resolve) =>
      ws.on('close', (code) => {
        created.closeCode = code;
        resolve(code);
      }),
    ),
    onFrame: undefined,
    send(message) {
      ws.send(JSON.stringify(message));
    },
  };
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const text = (data as Buffer).toString();
    const frame = JSON.parse(text) as Record<string, unknown>;
    created.texts.push(text);
    created.frames.push(frame);
    created.onFrame?.(frame, text);
  });
  return created;
}

/** Connects and waits for OPEN. */
async function peer(port: number, id: string, options: { token?: string; localAddress?: string } = {}): Promise<Client> {
  const created = client(port, id, options);
  await expect.poll(() => created.frames[0] ?? created.closeCode, { timeout: 5000 }).toEqual({ type: 'OPEN' });
  return created;
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await expect.poll(test, { timeout: timeoutMs, interval: 10, message: what }).toBe(true);
}

// ---------------------------------------------------------------------------------------------------------------
// The well-behaved pair.

interface PairReport {
  exchanges: number;
  maxRoundTripMs: number;
  problems: string[];
}

interface Pair {
  readonly alice: Client;
  readonly bob: Client;
  /** Keeps going until at least `minimum` exchanges completed (the pair also works after the flood), then stops and reports. */
  stop(minimum?: number): Promise<PairReport>;
}

/** alice offers every intervalMs, bob answers each offer; both check src, type and sequence of everything they get. */
async function startPair(port: number, intervalMs = PAIR_INTERVAL_MS): Promise<Pair> {
  const secret = randomBytes(6).toString('hex');
  const alice = await peer(port, 'alice', { token: `alice-${secret}` });
  const bob = await peer(port, 'bob', { token: `bob-${secret}` });
  const problems: string[] = [];
  const sentAt: number[] = [];
  let bobNext = 0;
  let answered = 0;
  let maxRoundTripMs = 0;
  bob.onFrame = (frame, text) => {
    const seq = (frame.payload as { seq?: unknown } | undefined)?.seq;
    if (frame.type !== 'OFFER' || frame.src !== 'alice' || frame.dst !== 'bob' || seq !== bobNext) {
      problems.push(`bob got ${text.slice(0, 200)} (expected OFFER #${bobNext} from alice)`);
      return;
    }
    bobNext++;
    bob.send({ type: 'ANSWER', dst: 'alice', payload: { seq, sdp: `answer ${seq}` } });
  };
  alice.onFrame = (frame, text) => {
    const seq = (frame.payload as { seq?: unknown } | undefined)?.seq;
    if (frame.type !== 'ANSWER' || frame.src !== 'bob' || frame.dst !== 'alice' || seq !== answered) {
      problems.push(`alice got ${text.slice(0, 200)} (expected ANSWER #${answered} from bob)`);
      return;
    }
    maxRoundTripMs = Math.max(maxRoundTripMs, Date.now() - sentAt[answered]!);
    answered++;
  };
  const timer = setInterval(() => {
    const seq = sentAt.length;
    sentAt.push(Date.now());
    alice.send({ type: 'OFFER', dst: 'bob', payload: { seq, sdp: `v=0\r\no=- ${seq} 2 IN IP4 127.0.0.1\r\n` } });
  }, intervalMs);
  timers.push(timer);
  return {
    alice,
    bob,
    async stop(minimum = 5) {
      try {
        await until(() => answered >= minimum || problems.length > 0, 5000, `the pair to complete ${minimum} exchanges`);
      } catch {
        problems.push(`only ${answered} exchanges within 5 s of the flood's end (wanted ${minimum})`);
      }
      clearInterval(timer);
      try {
        await until(() => answered === sentAt.length || problems.length > 0, 5000, 'the pair to finish its exchanges');
      } catch {
        problems.push(`only ${answered} of ${sentAt.length} offers were answered`);
      }
      if (alice.closeCode !== undefined || bob.closeCode !== undefined) problems.push(`the pair was disconnected (${alice.closeCode}, ${bob.closeCode})`);
      return { exchanges: answered, maxRoundTripMs, problems };
    },
  };
}

/** Every exchange of the pair arrived, in order, with the right src. */
function expectPairHealthy(report: PairReport): void {
  expect(report.problems).toEqual([]);
  expect(report.exchanges).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Raw WebSocket: a client that sends prebuilt frames and never reads.

/** Opens a WebSocket by hand and stops reading right after the 101 (and whatever came with it). */
async function rawNonReader(port: number, id: string): Promise<Socket> {
  const socket = netConnect({ port, host: HOST });
  sockets.push(socket);
  socket.on('error', () => {});
  await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'raw connect');
  socket.write(
    `GET /peerjs/peerjs?key=peerjs&id=${id}&token=t HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await within(
    new Promise<string>((resolve) => {
      let data = '';
      const onData = (chunk: Buffer): void => {
        data += chunk.toString('latin1');
        if (data.includes('{"type":"OPEN"}')) {
          socket.off('data', onData);
          resolve(data);
        }
      };
      socket.on('data', onData);
    }),
    5000,
    'the 101 and OPEN',
  );
  expect(head).toMatch(/^HTTP\/1\.1 101 /);
  socket.pause();
  return socket;
}

/** A masked client frame with a zero mask key, so the payload goes as is. */
const floodFrame = (opcode: number, payload: Buffer): Buffer => clientFrame(opcode, payload, Buffer.alloc(4));

/** Resolves on 'drain' or 'close', or after ms (the server may stop reading altogether). */
function drained(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** After the writing stops, how long the server has to cut the connection (the tests' stall timeouts are 1 s or less). */
const CUT_AFTER_FLOOD_MS = 5000;

/**
 * Writes `chunk` again and again (honouring backpressure) until the server cuts the connection, the server's RSS
 * passes `stopAtMb`, `maxChunks` were written, or `ms` passed. When the writing stopped for the count or the time, the
 * server still has CUT_AFTER_FLOOD_MS to cut the connection (sampling RSS meanwhile): on a loaded machine the flood can
 * outrun the cut, which is what is asserted, not the race. Returns what ended it.
 */
async function floodRaw(
  server: ServerProcess,
  socket: Socket,
  chunk: Buffer,
  limits: { maxChunks: number; stopAtMb: number; ms: number },
): Promise<{ chunks: number; ended: 'cut off' | 'rss' | 'count' | 'time' }> {
  let cut = false;
  socket.once('close', () => (cut = true));
  socket.once('error', () => (cut = true));
  const started = Date.now();
  for (let chunks = 0; ; chunks++) {
    if (cut) return { chunks, ended: 'cut off' };
    if (server.rssMb() > limits.stopAtMb) return { chunks, ended: 'rss' };
    if (chunks >= limits.maxChunks || Date.now() - started > limits.ms) {
      const stopped = chunks >= limits.maxChunks ? 'count' : 'time';
      const deadline = Date.now() + CUT_AFTER_FLOOD_MS;
      while (!cut && Date.now() < deadline) {
        if (server.rssMb() > limits.stopAtMb) return { chunks, ended: 'rss' };
        await drained(socket, 100);
      }
      return { chunks, ended: cut ? 'cut off' : stopped };
    }
    if (!socket.write(chunk)) await drained(socket, 250);
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('flood: oversize frames', () => {
  it(`a frame over --max-message-size closes only its sender with 1009, text, binary or fragmented; the pair keeps relaying and RSS stays < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer();
    const stop = sampleRss(server);
    const pair = await startPair(server.port);
    const limit = 65536;
    const kinds: Array<[string, (attacker: Client) => void]> = [
      ['text one byte over', (attacker) => attacker.ws.send('x'.repeat(limit + 1))],
      ['binary 4 MB', (attacker) => attacker.ws.send(Buffer.alloc(4 * 1024 * 1024), { binary: true })],
      [
        'fragmented 80 x 1 KiB',
        (attacker) => {
          for (let i = 0; i < 79; i++) attacker.ws.send('y'.repeat(1024), { fin: false });
          attacker.ws.send('y'.repeat(1024), { fin: true });
        },
      ],
      ['JSON relay to bob of 70 KB', (attacker) => attacker.send({ type: 'OFFER', dst: 'bob', payload: 'z'.repeat(70_000) })],
    ];
    for (let round = 0; round < 3; round++) {
      const attackers = await Promise.all(kinds.map((_kind, i) => peer(server.port, `big-${round}-${i}`)));
      attackers.forEach((attacker, i) => kinds[i]![1](attacker));
      const codes = await within(Promise.all(attackers.map((attacker) => attacker.closed)), 10_000, 'the attackers to be closed');
      expect(Object.fromEntries(kinds.map(([name], i) => [name, codes[i]]))).toEqual(Object.fromEntries(kinds.map(([name]) => [name, 1009])));
    }
    await expect.poll(() => connectedPeers(server.port), { timeout: 5000 }).toBe(2);
    const report = await pair.stop();
    stop();
    expectPairHealthy(report);
    expect(server.maxRssMb).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);
});

describe('flood: rate', () => {
  it(`10 clients over --rate-limit 20 --rate-burst 40 each get the rate-limit ERROR then 1008; the pair at 10 msgs/s is untouched; RSS < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer(['--rate-limit', '20', '--rate-burst', '40']);
    const stop = sampleRss(server);
    const pair = await startPair(server.port, 100);
    const attackers = await Promise.all(Array.from({ length: 10 }, (_unused, i) => peer(server.port, `rapid-${i}`)));
    const frames = ['{"type":"HEARTBEAT"}', 'not json', '{"type":"OFFER","dst":"ghost","payload":1}', '{"type":"NOPE"}'];
    attackers.forEach((attacker, i) => {
      for (let n = 0; n < 500; n++) attacker.ws.send(frames[(n + i) % frames.length]!);
    });
    const codes = await within(Promise.all(attackers.map((attacker) => attacker.closed)), 10_000, 'the attackers to be closed');
    expect(codes).toEqual(attackers.map(() => 1008));
    for (const attacker of attackers) {
      expect(attacker.frames.at(-1)).toEqual({ type: 'ERROR', payload: { msg: 'Rate limit exceeded: this connection sent too many messages too fast' } });
      // At most the burst (plus what refilled meanwhile) was handled: one reply per junk frame handled, well under 500.
      expect(attacker.frames.length).toBeLessThan(60);
    }
    const report = await pair.stop();
    stop();
    expectPairHealthy(report);
    expect(server.maxRssMb).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);

  it('regression: binary frames count against the rate limit too: a binary flood gets the rate-limit ERROR then 1008 (--rate-limit 20 --rate-burst 40)', async () => {
    const server = await startServer(['--rate-limit', '20', '--rate-burst', '40']);
    const pair = await startPair(server.port, 100);
    const attacker = await peer(server.port, 'binary-flood');
    for (let n = 0; n < 300; n++) attacker.ws.send(Buffer.from([n & 0xff]), { binary: true });
    // Wait until the server handled all 300 (one reply each) or closed the socket.
    await until(() => attacker.closeCode !== undefined || attacker.frames.length >= 301, 5000, 'replies to the binary flood');
    const replies = attacker.frames.slice(1).map((frame) => (frame.payload as { msg?: string } | undefined)?.msg);
    const report = await pair.stop();
    expectPairHealthy(report);
    // README: --rate-limit counts "frames per second per socket, heartbeats included". Expected: ERROR (rate limit)
    // after about 40 frames, then close 1008. (Binary frames once skipped the limit: 300 binary-frame ERRORs, still open.)
    expect({ replies: replies.length, rateLimited: replies.includes('Rate limit exceeded: this connection sent too many messages too fast'), closeCode: attacker.closeCode }).toEqual({
      replies: expect.any(Number) as number,
      rateLimited: true,
      closeCode: 1008,
    });
  }, TEST_TIMEOUT_MS);
});

describe('flood: queues for absent peers', () => {
  const expireFlags = ['--rate-limit', '0', '--rate-bytes', '0', '--expire-timeout', '20000'];

  it(`over --queue-limit 16 the sender gets EXPIRE at once for each extra message, and the absent peer later gets exactly the first 16 in order; RSS < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer([...expireFlags, '--queue-limit', '16']);
    const pair = await startPair(server.port);
    const mallory = await peer(server.port, 'mallory');
    const started = Date.now();
    for (let i = 0; i < 40; i++) mallory.send({ type: 'OFFER', dst: 'ghost', payload: { i } });
    await until(() => mallory.frames.length >= 1 + 24, 5000, '24 EXPIREs');
    // "At once": long before the 20 s expire timeout.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(mallory.frames.slice(1)).toEqual(Array.from({ length: 24 }, () => ({ type: 'EXPIRE', src: 'ghost', dst: 'mallory' })));
    const ghost = await peer(server.port, 'ghost');
    mallory.send({ type: 'OFFER', dst: 'ghost', payload: { marker: true } });
    await until(() => ghost.frames.length >= 18, 5000, 'the queued messages and the marker');
    expect(ghost.frames.slice(1)).toEqual([
      ...Array.from({ length: 16 }, (_unused, i) => ({ type: 'OFFER', dst: 'ghost', src: 'mallory', payload: { i } })),
      { type: 'OFFER', dst: 'ghost', src: 'mallory', payload: { marker: true } },
    ]);
    expectPairHealthy(await pair.stop());
    expect(server.rssMb()).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);

  it('over --queue-bytes 8KiB for one destination the sender gets EXPIRE at once, and the absent peer later gets exactly what fitted', async () => {
    const server = await startServer([...expireFlags, '--queue-bytes', '8KiB']);
    const pair = await startPair(server.port);
    const mallory = await peer(server.port, 'mallory');
    const message = (i: number): string => JSON.stringify({ type: 'CANDIDATE', dst: 'ghost2', payload: { i: String(i).padStart(2, '0'), c: 'c'.repeat(1000) } });
    // What the server charges: the text with ,"src":"mallory" added, plus a fixed overhead per message and one for the destination.
    const stored = message(0).length + ',"src":"mallory"'.length + MESSAGE_OVERHEAD_BYTES;
    const fitting = Math.floor((8192 - DESTINATION_OVERHEAD_BYTES) / stored);
    for (let i = 0; i < 20; i++) mallory.ws.send(message(i));
    await until(() => mallory.frames.length >= 1 + 20 - fitting, 5000, 'the EXPIREs');
    expect(mallory.frames.slice(1)).toEqual(Array.from({ length: 20 - fitting }, () => ({ type: 'EXPIRE', src: 'ghost2', dst: 'mallory' })));
    const ghost = await peer(server.port, 'ghost2');
    mallory.send({ type: 'CANDIDATE', dst: 'ghost2', payload: { marker: true } });
    await until(() => ghost.frames.length >= fitting + 2, 5000, 'the queued messages and the marker');
    expect(ghost.frames.slice(1).map((frame) => (frame.payload as { i?: string; marker?: boolean }).i ?? 'marker')).toEqual([
      ...Array.from({ length: fitting }, (_unused, i) => String(i).padStart(2, '0')),
      'marker',
    ]);
    expectPairHealthy(await pair.stop());
  }, TEST_TIMEOUT_MS);

  it('over --queue-total-bytes 64KiB across destinations each extra message gets EXPIRE at once; what fitted is delivered', async () => {
    const server = await startServer([...expireFlags, '--queue-total-bytes', '64KiB']);
    const pair = await startPair(server.port);
    const mallory = await peer(server.port, 'mallory');
    const message = (i: number): string => JSON.stringify({ type: 'OFFER', dst: `g${String(i).padStart(3, '0')}`, payload: 'p'.repeat(1000) });
    // Every message opens a new destination: text + src + the per-message and per-destination overheads.
    const stored = message(0).length + ',"src":"mallory"'.length + MESSAGE_OVERHEAD_BYTES + DESTINATION_OVERHEAD_BYTES;
    const fitting = Math.floor(65536 / stored);
    for (let i = 0; i < 100; i++) mallory.ws.send(message(i));
    await until(() => mallory.frames.length >= 1 + 100 - fitting, 5000, 'the EXPIREs');
    expect(mallory.frames.slice(1).map((frame) => frame.src)).toEqual(
      Array.from({ length: 100 - fitting }, (_unused, i) => `g${String(i + fitting).padStart(3, '0')}`),
    );
    const first = await peer(server.port, 'g000');
    await until(() => first.frames.length >= 2, 5000, 'g000 to get its message');
    expect(first.frames[1]).toMatchObject({ type: 'OFFER', src: 'mallory', dst: 'g000' });
    const last = await peer(server.port, 'g099');
    mallory.send({ type: 'OFFER', dst: 'g099', payload: 'marker' });
    await until(() => last.frames.length >= 2, 5000, 'g099 to get the marker');
    expect(last.frames.slice(1)).toEqual([{ type: 'OFFER', dst: 'g099', src: 'mallory', payload: 'marker' }]);
    expectPairHealthy(await pair.stop());
  }, TEST_TIMEOUT_MS);

  it(`a flood of 80k small messages to distinct absent ids stops at --queue-total-bytes 2MiB and RSS stays < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer([...expireFlags, '--queue-total-bytes', '2MiB']);
    const stop = sampleRss(server);
    const baseline = server.rssMb();
    const pair = await startPair(server.port);
    const mallory = await peer(server.port, 'mallory');
    const total = 80_000;
    let expired = 0;
    mallory.onFrame = (frame) => {
      if (frame.type === 'EXPIRE') expired++;
    };
    for (let i = 0; i < total; i++) {
      mallory.ws.send(`{"type":"OFFER","dst":"q${i}"}`);
      if (i % 1000 === 999) {
        // Read the EXPIREs as they come, so the server's buffer towards mallory stays small.
        await new Promise((resolve) => setImmediate(resolve));
        await until(() => mallory.ws.bufferedAmount < 1_000_000, 5000, 'the client to flush');
      }
    }
    // Every message beyond the cap is answered at once; what fits (about 2 MiB of frames) waits.
    const stored = '{"type":"OFFER","dst":"q100000","src":"mallory"}'.length;
    await until(() => expired >= total - Math.ceil((2 * 1024 * 1024) / (stored - 6)), 10_000, 'the EXPIREs for the overflow');
    const report = await pair.stop();
    stop();
    expectPairHealthy(report);
    const queued = total - expired;
    console.info(
      `queue flood: ${queued} messages queued (≈ ${((queued * stored) / 1024 / 1024).toFixed(1)} MiB counted), ${expired} expired at once; ` +
        `RSS ${baseline.toFixed(0)} → max ${server.maxRssMb.toFixed(0)} MB (${((server.maxRssMb - baseline) / 2).toFixed(1)} MB of RSS per counted MiB)`,
    );
    expect(server.maxRssMb).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);
});

describe('flood: connections from one address', () => {
  it(`with --max-connections-per-ip 20 the 21st upgrade from 127.0.0.2 gets HTTP 429 (500 tries), peers on 127.0.0.1 are unaffected, and a freed slot is reusable; RSS < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer(['--max-connections-per-ip', '20']);
    const stop = sampleRss(server);
    const pair = await startPair(server.port);
    const held = await Promise.all(Array.from({ length: 20 }, (_unused, i) => peer(server.port, `held-${i}`, { localAddress: '127.0.0.2' })));
    const statusOf = (id: string): Promise<number> =>
      within(
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`ws://${HOST}:${server.port}/peerjs/peerjs?key=peerjs&id=${id}&token=t`, { localAddress: '127.0.0.2' });
          sockets.push({ destroy: () => ws.terminate() });
          ws.on('error', () => {});
          ws.on('unexpected-response', (_request, response) => {
            resolve(response.statusCode ?? 0);
            ws.terminate();
          });
          ws.on('open', () => {
            resolve(101);
            ws.terminate();
          });
        }),
        5000,
        'an upgrade answer',
      );
    const statuses: number[] = [];
    for (let wave = 0; wave < 10; wave++) {
      statuses.push(...(await Promise.all(Array.from({ length: 50 }, (_unused, i) => statusOf(`extra-${wave}-${i}`)))));
    }
    expect(new Set(statuses)).toEqual(new Set([429]));
    // Another address is not affected.
    const carol = await peer(server.port, 'carol', { localAddress: '127.0.0.1' });
    pair.alice.send({ type: 'CANDIDATE', dst: 'carol', payload: 'hi' });
    await until(() => carol.frames.length >= 2, 5000, 'carol to get a message');
    // Freeing one slot lets exactly one more in.
    held[0]!.ws.close();
    await held[0]!.closed;
    await expect.poll(() => statusOf(`again-${randomBytes(3).toString('hex')}`), { timeout: 5000, interval: 50 }).toBe(101);
    const report = await pair.stop();
    stop();
    expectPairHealthy(report);
    expect(server.maxRssMb).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);
});

describe('flood: a destination that does not read', () => {
  it(`a paused destination: past --max-buffered 256KiB the sender gets EXPIRE, after --stall-timeout it is disconnected; RSS < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer([
      '--rate-limit', '0', '--rate-bytes', '0', '--max-buffered', '256KiB', '--stall-timeout', '1000', '--expire-timeout', '1000', '--allow-discovery',
    ]);
    const stop = sampleRss(server);
    const pair = await startPair(server.port);
    const slow = await peer(server.port, 'slow');
    slow.ws.pause();
    const mallory = await peer(server.port, 'mallory');
    const payload = 's'.repeat(60_000);
    let sent = 0;
    const expired = (): boolean => mallory.frames.some((frame) => frame.type === 'EXPIRE' && frame.src === 'slow');
    // Kernel buffers take a few MB first; after that the server's own buffer grows until it passes 256 KiB.
    while (!expired() && sent < 2000) {
      mallory.send({ type: 'OFFER', dst: 'slow', payload });
      sent++;
      if (sent % 10 === 0) {
        // Let mallory read its incoming frames (the EXPIRE) between bursts.
        await new Promise((resolve) => setImmediate(resolve));
        await until(() => mallory.ws.bufferedAmount < 1_000_000 || expired(), 5000, 'the sender to flush');
      }
    }
    await until(expired, 5000, 'EXPIRE for slow');
    // It reads nothing at all: after the stall timeout it is gone.
    const listed = async (): Promise<string[]> => ((await getJson(server.port, '/peerjs/peerjs/peers')) as string[]).sort();
    await expect.poll(listed, { timeout: 10_000, interval: 100 }).toEqual(['alice', 'bob', 'mallory']);
    // Once it reads again, the slow client finds its connection closed.
    slow.ws.resume();
    await within(slow.closed, 5000, 'the slow client to see the close');
    const report = await pair.stop();
    stop();
    console.info(`non-reading destination: cut off after ${sent} messages of 60 KB; max RSS ${server.maxRssMb.toFixed(0)} MB`);
    expectPairHealthy(report);
    expect(server.maxRssMb).toBeLessThan(RSS_BOUND_MB);
  }, TEST_TIMEOUT_MS);

  it(`regression: a client that never reads and floods binary frames (default flags) is cut off and server RSS stays < ${RSS_BOUND_MB} MB`, async () => {
    const server = await startServer();
    const pair = await startPair(server.port);
    const socket = await rawNonReader(server.port, 'mute');
    // 64k empty binary frames (384 KiB) per write; each gets a ~90-byte ERROR reply that can never be sent.
    const chunk = Buffer.concat(Array.from({ length: 65536 }, () => floodFrame(0x2, Buffer.alloc(0))));
    const result = await floodRaw(server, socket, chunk, { maxChunks: 40, stopAtMb: RSS_BOUND_MB + 50, ms: 8000 });
    const report = await pair.stop();
    console.info(`binary flood: ${result.chunks * 65536} frames written, ended by ${result.ended}; max RSS ${server.maxRssMb.toFixed(0)} MB`);
    expectPairHealthy(report);
    // Expected: cut off by the rate limit (ERROR, 1008) after ~200 frames, RSS flat. (Once no limit applied to binary
    // frames and the replies piled up in the server's send buffer, so RSS passed the bound within seconds.)
    expect({ maxRssMb: Math.round(server.maxRssMb), withinBound: server.maxRssMb < RSS_BOUND_MB, ended: result.ended }).toEqual({
      maxRssMb: expect.any(Number) as number,
      withinBound: true,
      ended: 'cut off',
    });
  }, TEST_TIMEOUT_MS);

  it(`a sender's own EXPIRE replies stop at --max-buffered: a client that reads none of them is cut off after --stall-timeout and RSS stays < ${RSS_BOUND_MB} MB (no rate limits)`, async () => {
    const server = await startServer(['--rate-limit', '0', '--rate-bytes', '0', '--max-buffered', '64KiB', '--stall-timeout', '1000']);
    const pair = await startPair(server.port);
    const socket = await rawNonReader(server.port, 'echo');
    // An OFFER to an id nobody can hold is answered at once with an EXPIRE that repeats the 60 KB dst.
    const offer = Buffer.from(JSON.stringify({ type: 'OFFER', dst: `no/${'x'.repeat(60_000)}` }));
    const chunk = Buffer.concat(Array.from({ length: 16 }, () => floodFrame(0x1, offer)));
    const result = await floodRaw(server, socket, chunk, { maxChunks: 400, stopAtMb: RSS_BOUND_MB + 50, ms: 8000 });
    const report = await pair.stop();
    console.info(`EXPIRE reply flood: ${result.chunks * 16} OFFERs of 60 KB written, ended by ${result.ended}; max RSS ${server.maxRssMb.toFixed(0)} MB`);
    expectPairHealthy(report);
    expect({ withinBound: server.maxRssMb < RSS_BOUND_MB, ended: result.ended }).toEqual({ withinBound: true, ended: 'cut off' });
  }, TEST_TIMEOUT_MS);

  it(`regression: a sender's own ERROR replies stop at --max-buffered: a client that reads none of them is cut off after --stall-timeout and RSS stays < ${RSS_BOUND_MB} MB (no rate limits)`, async () => {
    const server = await startServer(['--rate-limit', '0', '--rate-bytes', '0', '--max-buffered', '64KiB', '--stall-timeout', '1000']);
    const pair = await startPair(server.port);
    const socket = await rawNonReader(server.port, 'echo');
    // {"type": (14 bytes on the wire) is answered with a 90-byte ERROR "Invalid message: expected a JSON object…".
    const chunk = Buffer.concat(Array.from({ length: 32768 }, () => floodFrame(0x1, Buffer.from('{"type":'))));
    // The kernel takes tens of MB of replies first (a never-read receive buffer on loopback grows large), at
    // about 7 MB of replies a second on a 2-core machine: give it the time.
    const result = await floodRaw(server, socket, chunk, { maxChunks: 400, stopAtMb: RSS_BOUND_MB + 50, ms: 25_000 });
    const report = await pair.stop();
    console.info(`ERROR reply flood: ${result.chunks * 32768} frames written, ended by ${result.ended}; max RSS ${server.maxRssMb.toFixed(0)} MB`);
    expectPairHealthy(report);
    // Expected, as for EXPIRE replies (test above): replies stop once a few MB of kernel buffers and 64 KiB are
    // full, and the client, which reads nothing, is cut off after the stall timeout. (ERROR replies were once
    // never bounded.)
    expect({ withinBound: server.maxRssMb < RSS_BOUND_MB, ended: result.ended }).toEqual({ withinBound: true, ended: 'cut off' });
  }, 40_000);
});
