#!/usr/bin/env node
// Soak test of the built server (not part of `npm test`): waves of peers connect, relay, leave; RSS and fds must come back.
//
//   node scripts/soak.mjs [--minutes 2] [--wave 2000] [--rss-slack-mb 50] [--expire-timeout 1000] [--concurrency 200]
//   (or SOAK_MINUTES, SOAK_WAVE, SOAK_RSS_SLACK_MB, SOAK_EXPIRE_TIMEOUT, SOAK_CONCURRENCY)
//
// Each wave: `wave` peers connect (from a fresh loopback source address, so TIME_WAIT never runs out of ports),
// each sends an OFFER and two CANDIDATEs to the next peer in the ring, one in ten also sends an OFFER to an id that
// never connects (and must get EXPIRE back); then a third leave with LEAVE, a third close, a third drop the TCP
// connection. Between waves the server's RSS (VmRSS) and open fds (/proc/<pid>/fd) are sampled. At the end the
// script checks that every message arrived, that fds are back at their baseline (before the first wave) and RSS
// within --rss-slack-mb of its warm baseline (the highest RSS of the first three waves: V8 grows its heap to a
// plateau over the first waves and keeps it; a leak keeps climbing past it), prints a table and exits 1 on failure. Needs `npm run build` first. Everything is on 127.0.0.0/8.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/peer-signal.js', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string' },
    wave: { type: 'string' },
    'rss-slack-mb': { type: 'string' },
    'expire-timeout': { type: 'string' },
    concurrency: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 13).map((line) => line.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}

function numberSetting(flag, env, fallback, min, max) {
  const raw = flags[flag] ?? process.env[env];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`error: --${flag} (${env}) must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

function openFileLimit() {
  const match = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match ? Number(match[1]) : 1024;
}

const MINUTES = numberSetting('minutes', 'SOAK_MINUTES', 2, 0.05, 24 * 60);
// Each peer is one fd here and one in the server; keep room for everything else.
const MAX_WAVE = Math.max(10, openFileLimit() - 1000);
const WAVE = Math.floor(numberSetting('wave', 'SOAK_WAVE', Math.min(2000, MAX_WAVE), 2, MAX_WAVE));
const RSS_SLACK_MB = numberSetting('rss-slack-mb', 'SOAK_RSS_SLACK_MB', 50, 1, 10_000);
const EXPIRE_TIMEOUT_MS = Math.floor(numberSetting('expire-timeout', 'SOAK_EXPIRE_TIMEOUT', 1000, 50, 60_000));
const CONCURRENCY = Math.floor(numberSetting('concurrency', 'SOAK_CONCURRENCY', 200, 1, 5000));
/** Waves whose highest RSS is the baseline the final RSS is compared with. */
const WARM_UP_WAVES = 3;
/** Longest any single phase of a wave may take. */
const PHASE_DEADLINE_MS = 60_000;
/** How long the whole run may take beyond its duration before it is called hung. */
const GRACE_MS = 3 * PHASE_DEADLINE_MS;

if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)))) {
  console.error('error: dist/cli.js is missing; run `npm run build` first');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------

function withDeadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function startServer() {
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--host', '127.0.0.1', '--json', '--log-level', 'warn', '--concurrent-limit', String(Math.max(5000, WAVE + 100)), '--expire-timeout', String(EXPIRE_TIMEOUT_MS)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const line = await withDeadline(
    new Promise((resolve, reject) => {
      let buffered = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        const end = buffered.indexOf('\n');
        if (end !== -1) resolve(buffered.slice(0, end));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    }),
    10_000,
    'the server to start',
  );
  // Keep draining stdout (JSON log lines) so the server never blocks on a full pipe.
  child.stdout.resume();
  const { port } = JSON.parse(line);
  // Rejects when the server process ends: every wait of a wave races it, so a crash is reported at once.
  const gone = new Promise((_resolve, reject) => child.once('exit', (code, signal) => reject(new Error(`the server exited (${code ?? signal})`))));
  gone.catch(() => {});
  return {
    child,
    port,
    gone,
    get stderr() {
      return stderr;
    },
    /** VmRSS in MB, NaN once the process is gone. */
    rssMb() {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return match === null ? NaN : Number(match[1]) / 1024;
      } catch {
        return NaN;
      }
    },
    /** Open file descriptors, NaN once the process is gone. */
    fds() {
      try {
        return readdirSync(`/proc/${child.pid}/fd`).length;
      } catch {
        return NaN;
      }
    },
  };
}

function healthPeers(port) {
  return withDeadline(
    new Promise((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port, path: '/health', agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(JSON.parse(body).peers));
      }).on('error', reject);
    }),
    5000,
    'GET /health',
  );
}

/**
 * Resolves once `test()` holds, checking after each event the caller signals to `subscribe`'s listener; rejects at
 * the deadline or as soon as `gone` rejects (the server exited).
 */
function eventually(test, subscribe, gone, ms, what) {
  return withDeadline(
    Promise.race([
      new Promise((resolve) => {
        if (test()) return resolve();
        const unsubscribe = subscribe(() => {
          if (test()) {
            unsubscribe();
            resolve();
          }
        });
      }),
      gone,
    ]),
    ms,
    what,
  );
}

/** Polls an async probe until it passes (used only for server-side state we cannot subscribe to), with a deadline. */
async function pollUntil(probe, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last.value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function inBatches(items, size, run) {
  const results = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

// ---------------------------------------------------------------------------------------------------------------

async function runWave(server, wave, errors) {
  const localAddress = `127.0.${1 + (Math.floor(wave / 250) % 250)}.${2 + (wave % 250)}`;
  const ids = Array.from({ length: WAVE }, (_unused, i) => `w${wave}-p${i}`);
  const peers = ids.map((id) => ({ id, ws: undefined, got: [], expired: [], closed: false }));
  const listeners = new Set();
  const poke = () => {
    for (const listener of [...listeners]) listener();
  };
  const subscribe = (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const started = Date.now();

  // 1. Connect, CONCURRENCY at a time, and wait for each OPEN.
  await inBatches(peers, CONCURRENCY, (peer) =>
    withDeadline(
      new Promise((resolve, reject) => {
        server.gone.catch(reject);
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/peerjs/peerjs?key=peerjs&id=${peer.id}&token=t-${peer.id}`, {
          localAddress,
          perMessageDeflate: false,
        });
        peer.ws = ws;
        ws.on('error', (error) => reject(new Error(`${peer.id}: ${error.message}`)));
        ws.once('message', (data) => {
          if (String(data) !== '{"type":"OPEN"}') reject(new Error(`${peer.id}: expected OPEN, got ${data}`));
          ws.on('message', (more) => {
            const frame = JSON.parse(String(more));
            if (frame.type === 'EXPIRE') peer.expired.push(frame);
            else peer.got.push(frame);
            poke();
          });
          resolve();
        });
        ws.on('close', () => {
          peer.closed = true;
          poke();
        });
      }),
      PHASE_DEADLINE_MS,
      `${peer.id} to connect`,
    ),
  );
  const connectedAt = Date.now();

  // 2. Relay around the ring; one in ten also offers to a ghost that never comes.
  const ghosts = new Set();
  peers.forEach((peer, i) => {
    const next = ids[(i + 1) % WAVE];
    const sdp = `v=0\r\no=- ${wave}${i} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\n'.repeat(6)}`;
    peer.ws.send(JSON.stringify({ type: 'OFFER', dst: next, payload: { sdp, type: 'offer', n: 0 } }));
    peer.ws.send(JSON.stringify({ type: 'CANDIDATE', dst: next, payload: { candidate: `c1-${i}`, n: 1 } }));
    peer.ws.send(JSON.stringify({ type: 'CANDIDATE', dst: next, payload: { candidate: `c2-${i}`, n: 2 } }));
    if (i % 10 === 0) {
      const ghost = `ghost-w${wave}-${i}`;
      ghosts.add(ghost);
      peer.ws.send(JSON.stringify({ type: 'OFFER', dst: ghost, payload: { n: 'ghost' } }));
    }
  });
  const ghostSenders = peers.filter((_peer, i) => i % 10 === 0);
  try {
    await eventually(
      () => peers.every((peer) => peer.got.length >= 3) && ghostSenders.every((peer) => peer.expired.length >= 1),
      subscribe,
      server.gone,
      PHASE_DEADLINE_MS,
      `wave ${wave}: relays and EXPIREs`,
    );
  } catch (error) {
    errors.push(error.message);
  }
  let messages = 0;
  peers.forEach((peer, i) => {
    const previous = ids[(i - 1 + WAVE) % WAVE];
    const order = peer.got.map((frame) => `${frame.type}:${frame.src}:${frame.payload?.n}`).join(',');
    const expected = `OFFER:${previous}:0,CANDIDATE:${previous}:1,CANDIDATE:${previous}:2`;
    if (order !== expected) errors.push(`wave ${wave} ${peer.id}: got [${order}] expected [${expected}]`);
    messages += peer.got.length;
    for (const frame of peer.expired) {
      if (!ghosts.has(frame.src) || frame.dst !== peer.id) errors.push(`wave ${wave} ${peer.id}: unexpected ${JSON.stringify(frame)}`);
    }
    messages += peer.expired.length;
  });
  const relayedAt = Date.now();

  // 3. Leave three ways: LEAVE (the server closes with 1000), a closing handshake, and a dropped connection.
  peers.forEach((peer, i) => {
    if (i % 3 === 0) peer.ws.send('{"type":"LEAVE"}');
    else if (i % 3 === 1) peer.ws.close(1000);
    else peer.ws.terminate();
  });
  try {
    await eventually(() => peers.every((peer) => peer.closed), subscribe, server.gone, PHASE_DEADLINE_MS, `wave ${wave}: sockets to close`);
    await pollUntil(async () => {
      const value = await healthPeers(server.port);
      return { ok: value === 0, value };
    }, PHASE_DEADLINE_MS, `wave ${wave}: the server to forget every peer`);
  } catch (error) {
    errors.push(error.message);
  }
  const leftAt = Date.now();
  return {
    wave,
    peers: WAVE,
    connectMs: connectedAt - started,
    relayMs: relayedAt - connectedAt,
    leaveMs: leftAt - relayedAt,
    messages,
    rssMb: server.rssMb(),
    fds: server.fds(),
  };
}

function table(rows, columns) {
  const widths = columns.map(([title, get]) => Math.max(title.length, ...rows.map((row) => String(get(row)).length)));
  const line = (cells) => cells.map((cell, i) => String(cell).padStart(widths[i])).join('  ');
  return [line(columns.map(([title]) => title)), line(widths.map((width) => '-'.repeat(width))), ...rows.map((row) => line(columns.map(([, get]) => get(row))))].join('\n');
}

let running;

async function main() {
  const errors = [];
  const server = await startServer();
  running = server;
  let serverExit;
  const onUnexpectedExit = (code, signal) => {
    serverExit = { code, signal };
    errors.push(`the server exited (${code ?? signal}) during the soak: ${server.stderr.slice(-2000)}`);
  };
  server.child.once('exit', onUnexpectedExit);
  const hardStop = setTimeout(() => {
    console.error(`error: the soak did not finish within ${MINUTES} min + ${GRACE_MS / 1000} s; killing the server`);
    server.child.kill('SIGKILL');
    process.exit(1);
  }, MINUTES * 60_000 + GRACE_MS);
  hardStop.unref();

  const baseline = { rssMb: server.rssMb(), fds: server.fds(), warmRssMb: 0 };
  console.error(`soak: ${MINUTES} min of waves of ${WAVE} peers against pid ${server.child.pid} on port ${server.port}; fresh RSS ${baseline.rssMb.toFixed(1)} MB, ${baseline.fds} fds`);
  const rows = [];
  const endAt = Date.now() + MINUTES * 60_000;
  for (let wave = 0; Date.now() < endAt && serverExit === undefined; wave++) {
    let row;
    try {
      row = await runWave(server, wave, errors);
    } catch (error) {
      errors.push(`wave ${wave}: ${error.message}`);
      break;
    }
    rows.push(row);
    if (wave < WARM_UP_WAVES) baseline.warmRssMb = Math.max(baseline.warmRssMb, row.rssMb);
    console.error(`wave ${wave}: ${row.peers} peers, ${row.messages} messages, connect ${row.connectMs} ms, relay ${row.relayMs} ms, leave ${row.leaveMs} ms, RSS ${row.rssMb.toFixed(1)} MB, ${row.fds} fds`);
    if (errors.length > 20) break;
  }

  // After the last wave: fds must be back exactly, RSS within the slack (V8 keeps some heap; give it time to shrink).
  let final = { rssMb: NaN, fds: NaN };
  if (serverExit === undefined) {
    try {
      const settled = pollUntil(async () => {
        final = { rssMb: server.rssMb(), fds: server.fds() };
        return { ok: final.fds <= baseline.fds && final.rssMb <= baseline.warmRssMb + RSS_SLACK_MB, value: final };
      }, 15_000, 'RSS and fds to return to the baseline');
      await Promise.race([settled, server.gone]);
    } catch (error) {
      errors.push(error.message);
    }
  }

  const columns = [
    ['wave', (row) => row.wave],
    ['peers', (row) => row.peers],
    ['messages', (row) => row.messages],
    ['connect ms', (row) => row.connectMs],
    ['relay ms', (row) => row.relayMs],
    ['leave ms', (row) => row.leaveMs],
    ['RSS MB', (row) => row.rssMb.toFixed(1)],
    ['fds', (row) => row.fds],
  ];
  const maxRss = Math.max(baseline.rssMb, ...rows.map((row) => row.rssMb));
  const totalPeers = rows.reduce((sum, row) => sum + row.peers, 0);
  const totalMessages = rows.reduce((sum, row) => sum + row.messages, 0);
  console.log(table(rows, columns));
  console.log('');
  console.log(
    table(
      [
        ['waves', rows.length],
        ['peers connected in total', totalPeers],
        ['messages delivered (relays + EXPIREs)', totalMessages],
        ['RSS fresh / warm (max of waves 0-2) / max / final (MB)', `${baseline.rssMb.toFixed(1)} / ${baseline.warmRssMb.toFixed(1)} / ${maxRss.toFixed(1)} / ${final.rssMb.toFixed(1)}`],
        [`RSS bound: final <= warm + ${RSS_SLACK_MB} MB`, `${(baseline.warmRssMb + RSS_SLACK_MB).toFixed(1)} ${final.rssMb <= baseline.warmRssMb + RSS_SLACK_MB ? 'ok' : 'FAILED'}`],
        ['fds before wave 0 / final', `${baseline.fds} / ${final.fds} ${final.fds <= baseline.fds ? 'ok' : 'FAILED'}`],
        ['errors', errors.length],
      ],
      [
        ['check', (row) => row[0]],
        ['value', (row) => row[1]],
      ],
    ),
  );
  for (const error of errors.slice(0, 20)) console.error(`error: ${error}`);
  clearTimeout(hardStop);
  if (serverExit === undefined) {
    server.child.off('exit', onUnexpectedExit);
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await withDeadline(exited, 10_000, 'the server to exit').catch(() => server.child.kill('SIGKILL'));
  }
  const ok = errors.length === 0;
  console.error(ok ? 'soak: passed' : `soak: FAILED (${errors.length} errors)`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  if (running !== undefined && running.child.exitCode === null) running.child.kill('SIGKILL');
  process.exitCode = 1;
});
