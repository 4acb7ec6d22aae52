// One load-generator process: ws clients that connect, relay PeerJS-shaped frames in pairs, or idle with heartbeats, on IPC command.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { HEARTBEAT, TS_MARK, frameCycle } from '../lib/messages.mjs';
import { RawPeer, openRawSession, parseWsBase } from './raw-session.mjs';
import { createHistogram, histRecord, histToSparse } from '../lib/stats.mjs';

/**
 * A zero masking key: ws then skips the XOR on our side. The server still unmasks every frame the
 * same way (it cannot know the key is zero), so its work is what a browser's frames cost it, and the
 * load generator saves the CPU.
 */
function zeroMask(mask) {
  mask.fill(0);
}

const CLIENT_OPTIONS = {
  perMessageDeflate: false,
  skipUTF8Validation: true,
  generateMask: zeroMask,
  handshakeTimeout: 15000,
};

const TS_NEEDLE = Buffer.from(TS_MARK);
const TS_LEN = TS_NEEDLE.length;
const OPEN_PREFIX = '{"type":"OPEN"';

const nowUs = () => Math.round(performance.now() * 1000);

/**
 * Linux routes all of 127.0.0.0/8 to the loopback interface. Every batch of sessions binds its own
 * source address there, so ~20,000 clients (and the TIME_WAIT sockets of earlier steps and other
 * programs on 127.0.0.1) never crowd one address's ephemeral port range, which makes connect() slow.
 */
const WORKER_INDEX = Number(process.env.BENCH_WORKER_INDEX ?? 0);
let sourceSeq = process.pid % 200;
let spreadSources = false;

function nextSourceAddress() {
  if (!spreadSources) return undefined;
  sourceSeq = (sourceSeq + 1) % 250;
  return `127.${100 + (WORKER_INDEX % 100)}.${sourceSeq + 1}.${1 + (process.pid % 250)}`;
}

async function probeSourceAddresses() {
  const address = `127.${100 + (WORKER_INDEX % 100)}.250.${1 + (process.pid % 250)}`;
  spreadSources = await new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

/** Every ws client this worker holds open. */
let sockets = [];
/** Sessions opened over bare TCP sockets (see raw-session.mjs). */
let rawPeers = [];
let pairs = [];
let heartbeatTimer;

// Relay state, shared by all pairs of this worker.
let phase = 'idle'; // 'warmup' | 'measure' | 'drain' | 'idle'
let thinkMs = 0;
let hist = createHistogram();
let measured = 0;
let sent = 0;
let received = 0;
const counters = { closedAfterOpen: 0, unexpected: 0, socketErrors: 0 };
const unexpectedSamples = new Map();

function tally(map, key) {
  if (map.size < 20 || map.has(key)) map.set(key, (map.get(key) ?? 0) + 1);
}

function sendNext(ws) {
  const state = ws.bench;
  const frame = state.cycle[state.k];
  state.k = state.k === state.cycle.length - 1 ? 0 : state.k + 1;
  sent++;
  if (ws instanceof RawPeer) {
    frame.prefixBytes ??= Buffer.from(frame.prefix);
    frame.suffixBytes ??= Buffer.from(frame.suffix);
    ws.sendParts(frame.prefixBytes, String(nowUs()), frame.suffixBytes);
  } else {
    ws.send(frame.prefix + nowUs() + frame.suffix);
  }
}

function delayedSend(ws) {
  if (phase === 'warmup' || phase === 'measure') {
    if (ws.readyState === WebSocket.OPEN) sendNext(ws);
  }
}

/** A relayed frame arrived: record its one-way latency, and answer the partner with the next frame of the cycle. */
function onRelayFrame(ws, data) {
  const at = data.indexOf(TS_NEEDLE);
  if (at === -1) {
    counters.unexpected++;
    tally(unexpectedSamples, data.toString('utf8', 0, Math.min(data.length, 60)));
    return;
  }
  let sentAt = 0;
  for (let i = at + TS_LEN; i < data.length; i++) {
    const c = data[i];
    if (c < 48 || c > 57) break;
    sentAt = sentAt * 10 + (c - 48);
  }
  received++;
  if (phase === 'measure') {
    histRecord(hist, nowUs() - sentAt);
    measured++;
  }
  if (phase === 'warmup' || phase === 'measure') {
    if (thinkMs > 0) setTimeout(delayedSend, thinkMs * (0.5 + Math.random()), ws);
    else sendNext(ws);
  }
}

function onMessage(data) {
  const state = this.bench;
  if (state.mode === 'relay') return onRelayFrame(this, data);
  if (state.mode === 'connecting') {
    const text = data.toString();
    if (text.startsWith(OPEN_PREFIX)) state.settle(undefined);
    else state.settle(new Error(text.slice(0, 120)));
    return;
  }
  counters.unexpected++;
  tally(unexpectedSamples, data.toString('utf8', 0, Math.min(data.length, 60)));
}

function onRawText(peer, payload) {
  onMessage.call(peer, payload);
}

function onRawClose(peer) {
  if (!peer.bench.closing) counters.closedAfterOpen++;
}

function onError(error) {
  const state = this.bench;
  if (state.mode === 'connecting') state.settle(error);
  else counters.socketErrors++;
}

function onClose(code) {
  const state = this.bench;
  if (state.mode === 'connecting') state.settle(new Error(`closed ${code}`));
  else if (!state.closing) counters.closedAfterOpen++;
}

function errorKey(error) {
  return (error.code ?? error.message ?? String(error)).slice(0, 100);
}

/** Opens one PeerJS session; resolves with the socket and the microseconds from `new WebSocket` to the OPEN frame. */
function openSession(wsBase, id, token, timeoutMs, localAddress) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const ws = new WebSocket(`${wsBase}&id=${id}&token=${token}`, localAddress ? { ...CLIENT_OPTIONS, localAddress } : CLIENT_OPTIONS);
    const timer = setTimeout(() => ws.bench.settle(new Error('timeout waiting for OPEN')), timeoutMs);
    ws.bench = {
      mode: 'connecting',
      id,
      closing: false,
      settle(error) {
        if (this.mode !== 'connecting') return;
        clearTimeout(timer);
        if (error) {
          this.mode = 'failed';
          this.closing = true;
          ws.terminate();
          reject(error);
        } else {
          this.mode = 'open';
          resolve({ ws, us: (performance.now() - start) * 1000 });
        }
      },
    };
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
  });
}

const token = (i) => `t${(i * 2654435761) % 1e9}x`;

/**
 * Opens `ids.length` sessions with at most `concurrency` in flight, within `timeoutMs` overall, with
 * the ws client or, for `client: 'raw'`, bare TCP sockets.
 */
async function openMany(wsBase, ids, concurrency, timeoutMs, { client = 'ws', localAddress = nextSourceAddress() } = {}) {
  const latency = createHistogram();
  const opened = new Array(ids.length);
  const errors = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + timeoutMs;
  const raw = client === 'raw' ? parseWsBase(wsBase) : undefined;
  async function lane() {
    while (next < ids.length && performance.now() < deadline) {
      const index = next++;
      const remainingMs = Math.max(1, deadline - performance.now());
      try {
        if (raw !== undefined) {
          const { socket, us, rest } = await openRawSession(raw, ids[index], token(index), remainingMs, localAddress);
          histRecord(latency, us);
          const peer = new RawPeer(socket, rest, onRawText, onRawClose);
          peer.bench = { mode: 'open', id: ids[index], closing: false };
          opened[index] = peer;
          rawPeers.push(peer);
        } else {
          const { ws, us } = await openSession(wsBase, ids[index], token(index), remainingMs, localAddress);
          histRecord(latency, us);
          opened[index] = ws;
          sockets.push(ws);
        }
        ok++;
      } catch (error) {
        failed++;
        const key = errorKey(error);
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, lane));
  const elapsedMs = performance.now() - start;
  failed += ids.length - ok - failed; // never attempted before the deadline
  return { opened, ok, failed, errors, elapsedMs, latency };
}

/** Sends a HEARTBEAT from every idle socket once per `periodMs`, spread evenly over the period. */
function startHeartbeats(periodMs) {
  stopHeartbeats();
  const tickMs = 100;
  let cursor = 0;
  heartbeatTimer = setInterval(() => {
    const n = sockets.length;
    if (n === 0) return;
    const perTick = Math.ceil(n / Math.max(1, periodMs / tickMs));
    for (let i = 0; i < perTick; i++) {
      if (cursor >= n) cursor = 0;
      const ws = sockets[cursor++];
      if (ws.readyState === WebSocket.OPEN) ws.send(HEARTBEAT);
    }
  }, tickMs);
}

function stopHeartbeats() {
  if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
  heartbeatTimer = undefined;
}

async function closeAll() {
  stopHeartbeats();
  phase = 'idle';
  const closing = sockets.map((ws) => {
    ws.bench.closing = true;
    if (ws.readyState === WebSocket.CLOSED) return undefined;
    return new Promise((resolve) => ws.once('close', resolve));
  });
  for (const ws of sockets) {
    // A reset leaves no TIME_WAIT socket behind on our side (terminate() would, for 60 s per socket).
    const socket = ws._socket;
    if (socket && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
    else ws.terminate();
  }
  for (const peer of rawPeers) {
    peer.bench.closing = true;
    peer.reset();
  }
  await Promise.race([Promise.all(closing), sleep(5000)]);
  const count = sockets.length + rawPeers.length;
  sockets = [];
  rawPeers = [];
  pairs = [];
  return { closed: count };
}

const handlers = {
  /**
   * `count` sessions, `concurrency` in flight, over the ws client or (`client: 'raw'`) bare sockets;
   * with `heartbeatMs`, ws sessions then idle, sending HEARTBEAT.
   */
  async connect({ wsBase, count, concurrency, idPrefix, timeoutMs, heartbeatMs, client = 'ws' }) {
    if (heartbeatMs && client !== 'ws') throw new Error('heartbeats are sent by ws sessions only');
    const ids = Array.from({ length: count }, (_, i) => `${idPrefix}${i}`);
    const result = await openMany(wsBase, ids, concurrency, timeoutMs, { client });
    if (heartbeatMs) startHeartbeats(heartbeatMs);
    return {
      ok: result.ok,
      failed: result.failed,
      errors: result.errors,
      elapsedMs: result.elapsedMs,
      hist: histToSparse(result.latency),
      open: sockets.length + rawPeers.length,
    };
  },

  /** `count` pairs: caller on `wsBaseA`, callee on `wsBaseB` (two instances in cluster mode). */
  async pairs({ wsBaseA, wsBaseB, count, idPrefix, concurrency, timeoutMs, client = 'ws' }) {
    const callers = await openMany(wsBaseA, Array.from({ length: count }, (_, i) => `${idPrefix}p${i}a`), concurrency, timeoutMs, { client });
    const callees = await openMany(wsBaseB, Array.from({ length: count }, (_, i) => `${idPrefix}p${i}b`), concurrency, timeoutMs, { client });
    for (let i = 0; i < count; i++) {
      const a = callers.opened[i];
      const b = callees.opened[i];
      if (!a || !b) continue;
      const seed = pairs.length + 1 + Math.floor(Math.random() * 1e6);
      Object.assign(a.bench, { mode: 'relay', partner: b, cycle: frameCycle('caller', b.bench.id, seed), k: 0 });
      Object.assign(b.bench, { mode: 'relay', partner: a, cycle: frameCycle('callee', a.bench.id, seed), k: 0 });
      pairs.push({ a, b });
    }
    return { pairs: pairs.length, errors: { ...callers.errors, ...callees.errors } };
  },

  /**
   * Bounces frames inside each pair with `inflight` frames per pair: each arrival is answered at once
   * (or after ~`think` ms). Counts arrivals and their latency only in the measuring window.
   */
  async relay({ pairLimit, inflight, warmupMs, durationMs, think = 0, drainMs = 3000 }) {
    const use = pairs.slice(0, pairLimit ?? pairs.length);
    hist = createHistogram();
    measured = 0;
    sent = 0;
    received = 0;
    counters.closedAfterOpen = 0;
    counters.unexpected = 0;
    unexpectedSamples.clear();
    thinkMs = think;
    phase = warmupMs > 0 ? 'warmup' : 'measure';
    for (const { a, b } of use) {
      for (let k = 0; k < inflight; k++) sendNext(k % 2 === 0 ? a : b);
    }
    if (warmupMs > 0) {
      await sleep(warmupMs);
      hist.fill(0);
      measured = 0;
      phase = 'measure';
    }
    const start = performance.now();
    await sleep(durationMs);
    phase = 'drain';
    const elapsedMs = performance.now() - start;
    const result = { received: measured, elapsedMs, hist: histToSparse(hist), pairs: use.length };
    const drainDeadline = performance.now() + drainMs;
    while (received < sent && performance.now() < drainDeadline) await sleep(10);
    phase = 'idle';
    return {
      ...result,
      lost: sent - received,
      closedAfterOpen: counters.closedAfterOpen,
      unexpected: counters.unexpected,
      unexpectedSamples: Object.fromEntries(unexpectedSamples),
    };
  },

  async stats() {
    const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length + rawPeers.filter((peer) => peer.readyState === 1).length;
    return { open, spreadSources, ...counters };
  },

  close: closeAll,
};

process.on('message', async (message) => {
  const handler = handlers[message.cmd];
  if (!handler) {
    process.send({ reqId: message.reqId, error: `unknown command ${message.cmd}` });
    return;
  }
  try {
    const result = await handler(message.args ?? {});
    process.send({ reqId: message.reqId, result });
  } catch (error) {
    process.send({ reqId: message.reqId, error: error.stack ?? String(error) });
  }
});

// The orchestrator went away (crash, Ctrl-C): do not linger holding thousands of sockets.
process.on('disconnect', () => process.exit(0));
await probeSourceAddresses();
process.send({ ready: true, pid: process.pid, spreadSources });
