// End-to-end tests of `peer-signal run`: the command's environment, exit codes, signals, the summary and the transcript.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EXIT_TIMEOUT_MS,
  SHELL_BIN,
  START_TIMEOUT_MS,
  cleanup,
  connectPeer,
  errorLines,
  killPids,
  occupyPort,
  portAccepts,
  spawnCli,
  spawnInTerminal,
  stderrLines,
  within,
  type CliProcess,
  type ExitResult,
  type HookContext,
} from './helpers.js';
import { requires, terminalProblem } from '../support/prerequisites.js';

const NODE = process.execPath;
/** A run starts a server, then a node process; it may take a while on a busy machine. */
const RUN_TIMEOUT_MS = START_TIMEOUT_MS + EXIT_TIMEOUT_MS;
const WS_MODULE = createRequire(import.meta.url).resolve('ws');

let dir = '';
/** Where the commands under run record their PIDs: killing run does not end its command. */
let pidsFile = '';
let scripts: Record<'probe' | 'signal' | 'trap', string>;

/** Every command script records its PID for afterEach and ends by itself if a failed test leaves it behind. */
const PRELUDE = `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
appendFileSync(process.env.RUN_TEST_PIDS, process.pid + '\\n');
setTimeout(() => { console.error('gave up after 20 s'); process.exit(98); }, 20_000).unref();
`;

/** Prints its PEER_SIGNAL_* variables, its arguments, the server's /health status and the ready file (PROBE_READY_FILE) as JSON. */
const PROBE = `${PRELUDE}
const health = await fetch(process.env.PEER_SIGNAL_URL + '/health');
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('PEER_SIGNAL_')));
const file = process.env.PROBE_READY_FILE;
const ready = file === undefined ? null : JSON.parse(readFileSync(file, 'utf8'));
console.log(JSON.stringify({ env, args: process.argv.slice(2), health: health.status, ready }));
process.exit(0);
`;

/**
 * Two peers exchange an OFFER and an ANSWER; a second "alice" gets ID-TAKEN, a wrong key an ERROR,
 * an OFFER for "ghost" an EXPIRE (with --expire-timeout). Prints each frame's type; exits with argv[2].
 */
const SIGNAL = `${PRELUDE}
const WebSocket = (await import(${JSON.stringify(WS_MODULE)})).default;
function connect(id, token = 'token-' + id, key = process.env.PEER_SIGNAL_KEY) {
  const ws = new WebSocket(process.env.PEER_SIGNAL_WS_URL + '?' + new URLSearchParams({ key, id, token }));
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise((resolve) => ws.on('close', resolve));
  const next = async () => {
    const frame = frames.length > 0 ? frames.shift() : await new Promise((resolve) => waiters.push(resolve));
    console.log(frame.type);
    return frame;
  };
  return { ws, next, closed, send: (message) => ws.send(JSON.stringify(message)) };
}
const alice = connect('alice');
await alice.next();
const bob = connect('bob');
await bob.next();
alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'v=0', type: 'offer' } });
await bob.next();
bob.send({ type: 'ANSWER', dst: 'alice', payload: { sdp: 'v=0', type: 'answer' } });
await alice.next();
const impostor = connect('alice', 'another-token');
await impostor.next();
await impostor.closed;
const wrongKey = connect('carol', 'token-carol', 'not-the-key');
await wrongKey.next();
await wrongKey.closed;
alice.send({ type: 'OFFER', dst: 'ghost', payload: { sdp: 'v=0', type: 'offer' } });
await alice.next();
alice.ws.close();
bob.ws.close();
await Promise.all([alice.closed, bob.closed]);
process.exit(Number(process.argv[2]));
`;
const SIGNAL_OUTPUT = 'OPEN\nOPEN\nOFFER\nANSWER\nID-TAKEN\nERROR\nEXPIRE\n';

/**
 * On SIGTERM or SIGINT: asks the server for /health (it must still answer: run stops it only after
 * the command), writes "<signal> <status>" to argv[2], exits 7. Prints "ready <port> <run's pid>" once the handlers are in.
 */
const TRAP = `${PRELUDE}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    const health = await fetch(process.env.PEER_SIGNAL_URL + '/health').then((answer) => answer.status, (error) => error.cause?.code ?? error.message);
    writeFileSync(process.argv[2], signal + ' ' + health);
    process.exit(7);
  });
}
setInterval(() => {}, 1000);
console.log('ready ' + process.env.PEER_SIGNAL_PORT + ' ' + process.ppid);
`;

const TRAP_READY = /ready (\d+) (\d+)/;

/** The port of run's server and run's PID, from the trap script's ready line. */
function trapReady(line: string): { port: number; runPid: number } {
  const [, port, runPid] = TRAP_READY.exec(line)!;
  return { port: Number(port), runPid: Number(runPid) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'peer-signal-run-'));
  pidsFile = join(dir, 'pids');
  writeFileSync(pidsFile, '');
  scripts = { probe: join(dir, 'probe.mjs'), signal: join(dir, 'signal.mjs'), trap: join(dir, 'trap.mjs') };
  writeFileSync(scripts.probe, PROBE);
  writeFileSync(scripts.signal, SIGNAL);
  writeFileSync(scripts.trap, TRAP);
});

afterEach(async (context: HookContext) => {
  await cleanup(context);
  killPids(readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number));
  writeFileSync(pidsFile, '');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Spawns `peer-signal run ...args`; the commands' PIDs go to the pids file. */
function spawnRun(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  return spawnCli(['run', ...args], { env: { RUN_TEST_PIDS: pidsFile, ...env } });
}

function run(args: readonly string[], env: Record<string, string> = {}): Promise<ExitResult> {
  return spawnRun(args, env).waitForExit(RUN_TIMEOUT_MS);
}

interface Probe {
  env: Record<string, string>;
  args: string[];
  health: number;
  ready: Record<string, unknown> | null;
}

/** The probe's one line of JSON, which must be all of run's stdout. */
function probeOutput(result: ExitResult): Probe {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout.split('\n')).toHaveLength(2);
  return JSON.parse(result.stdout) as Probe;
}

/** A file in this test's directory that no test has used. */
let fileCount = 0;
function freshFile(name: string): string {
  fileCount += 1;
  return join(dir, `${fileCount}-${name}`);
}

describe('run: the command and its environment', () => {
  it('gives the command PEER_SIGNAL_* for the server it started on 127.0.0.1 and a free port; stdout is the command’s alone', async () => {
    const result = await run(['--path', '/signal', '--key', 'k3y', '--', NODE, scripts.probe]);
    const probe = probeOutput(result);
    const port = Number(probe.env.PEER_SIGNAL_PORT);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(9000);
    expect(probe.env).toEqual({
      PEER_SIGNAL_URL: `http://127.0.0.1:${port}/signal`,
      PEER_SIGNAL_WS_URL: `ws://127.0.0.1:${port}/signal/peerjs`,
      PEER_SIGNAL_HOST: '127.0.0.1',
      PEER_SIGNAL_PORT: String(port),
      PEER_SIGNAL_PATH: '/signal',
      PEER_SIGNAL_KEY: 'k3y',
      PEER_SIGNAL_SECURE: 'false',
    });
    // The server answered while the command ran, and is gone once run has exited.
    expect(probe.health).toBe(200);
    expect(await portAccepts(port)).toBe(false);
    // The listening line goes to stderr: run's stdout belongs to the command.
    expect(stderrLines(result)[0]).toBe(`peer-signal listening on http://127.0.0.1:${port}/signal`);
  });

  it.each([
    ['after --', ['--', NODE, 'SCRIPT', '--port', '5', '--', 'x']],
    ['without --', [NODE, 'SCRIPT', '--port', '5', '--key', 'x']],
  ])('options after the command’s name are the command’s (%s)', async (_name, tail) => {
    const args = tail.map((arg) => (arg === 'SCRIPT' ? scripts.probe : arg));
    const probe = probeOutput(await run(['--key', 'k3y', ...args]));
    expect(probe.args).toEqual(args.slice(args.indexOf(scripts.probe) + 1));
    // Neither --port 5 nor --key x reached the server.
    expect(probe.env.PEER_SIGNAL_KEY).toBe('k3y');
    expect(probe.env.PEER_SIGNAL_PORT).not.toBe('5');
  });

  it.each([
    ['--ready-file', (file: string) => [['--ready-file', file], {}] as const],
    ['PEER_SIGNAL_READY_FILE', (file: string) => [[], { PEER_SIGNAL_READY_FILE: file }] as const],
  ])('%s: the ready file is there when the command starts, and removed when run exits', async (_name, given) => {
    const file = freshFile('ready.json');
    const [flags, env] = given(file);
    const probe = probeOutput(await run([...flags, '--', NODE, scripts.probe], { ...env, PROBE_READY_FILE: file }));
    const port = Number(probe.env.PEER_SIGNAL_PORT);
    expect(probe.ready).toMatchObject({ event: 'listening', url: probe.env.PEER_SIGNAL_URL, wsUrl: probe.env.PEER_SIGNAL_WS_URL, port });
    expect(existsSync(file)).toBe(false);
  });
});

describe('run: exit codes', () => {
  it.each([
    [0, 'exits 0', [NODE, '-e', 'process.exit(0)']],
    [3, 'exits 3', [NODE, '-e', 'process.exit(3)']],
    [143, 'is killed by SIGTERM (128 + 15)', ['sh', '-c', 'kill -TERM $$']],
  ])('exit code %i when the command %s', async (code, _name, command) => {
    const result = await run(['--', ...command]);
    expect(result.code, result.stderr).toBe(code);
    expect(errorLines(result)).toEqual([]);
  });

  it('a command that cannot be started: one error line, exit 127 (also in --summary-json)', async () => {
    const summary = freshFile('summary.json');
    const result = await run(['--summary-json', summary, '--', 'peer-signal-no-such-command', 'arg']);
    expect(result.code).toBe(127);
    expect(errorLines(result)).toEqual([expect.stringMatching(/^error: cannot run peer-signal-no-such-command: not found/)]);
    expect(stderrLines(result).at(-1)).toMatch(/^error: /);
    expect(result.stdout).toBe('');
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ exitCode: 127, peers: 0 });
  });

  it('a server that cannot start (its port is taken): the command never runs, exit 1', async () => {
    const { port } = await occupyPort();
    const marker = freshFile('ran');
    const result = await run(['--port', String(port), '--', NODE, '-e', 'require("node:fs").writeFileSync(process.argv[1], "ran")', marker]);
    expect(result.code).toBe(1);
    expect(errorLines(result)).toEqual([expect.stringMatching(new RegExp(`^error: port ${port} is already in use`))]);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['--port abc', ['--port', 'abc', '--']],
    ['--fault-drop FOO=2', ['--fault-drop', 'FOO=2', '--']],
    ['--transcript in a missing directory', ['--transcript', '/nonexistent/peer-signal/t.ndjson', '--']],
  ])('a usage error (%s): the command never runs, one error line, exit 2', async (_name, flags) => {
    const marker = freshFile('ran');
    const result = await run([...flags, NODE, '-e', 'require("node:fs").writeFileSync(process.argv[1], "ran")', marker]);
    expect(result.code).toBe(2);
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^error: /)]);
    expect(result.stdout).toBe('');
    expect(existsSync(marker)).toBe(false);
  });

  it.each([[['run']], [['run', '--']], [['run', '--port', '0']]])('%j without a command: one error line, exit 2', async (args) => {
    const result = await spawnCli(args).waitForExit(RUN_TIMEOUT_MS);
    expect(result.code).toBe(2);
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^error: .*command/)]);
  });
});

describe('run: signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to run reaches the command, which can still use the server; then the server stops (peers closed with 1001) and run exits with the command’s code',
    async (signal) => {
      const marker = freshFile('signalled');
      const runner = spawnRun(['--', NODE, scripts.trap, marker]);
      const { port } = trapReady(await runner.waitForLine((line) => TRAP_READY.test(line)));
      const watcher = await connectPeer(`http://127.0.0.1:${port}/peerjs`, 'watcher');
      runner.signal(signal);
      const result = await runner.waitForExit(RUN_TIMEOUT_MS);
      expect(result.code, result.stderr).toBe(7);
      expect(readFileSync(marker, 'utf8')).toBe(`${signal} 200`);
      expect((await within(watcher.closed, EXIT_TIMEOUT_MS, 'waiting for the server to close the watcher')).code).toBe(1001);
      expect(await portAccepts(port)).toBe(false);
    },
  );
});

requires('the terminal tests (under script)', terminalProblem()).describe('run: signals in the foreground of a terminal', () => {
  it('SIGTERM sent to run alone still reaches the command (a Ctrl-C would reach it by itself, a SIGTERM would not)', async () => {
    const marker = freshFile('signalled');
    // `timeout --foreground -s KILL 30` bounds the run and keeps it in the terminal's foreground group.
    const terminal = spawnInTerminal(`timeout --foreground -s KILL 30 ${SHELL_BIN} run -- '${NODE}' '${scripts.trap}' '${marker}'; exit $?`, {
      env: { CI: undefined, TERM: 'xterm-256color', RUN_TEST_PIDS: pidsFile },
    });
    const { runPid } = trapReady(await terminal.waitForLine((line) => TRAP_READY.test(line)));
    appendFileSync(pidsFile, `${runPid}\n`);
    process.kill(runPid, 'SIGTERM');
    const result = await terminal.waitForExit(RUN_TIMEOUT_MS);
    expect(result.code, result.stdout).toBe(7);
    expect(readFileSync(marker, 'utf8')).toBe('SIGTERM 200');
  });
});

describe('run: the summary', () => {
  it('on stderr: peers, relays by type, EXPIRE/ID-TAKEN/ERROR and refusals; --summary-json has the same with the exit code', async () => {
    const summary = freshFile('summary.json');
    const result = await run(['--expire-timeout', '100', '--summary-json', summary, '--', NODE, scripts.signal, '0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(SIGNAL_OUTPUT);
    expect(stderrLines(result)).toEqual([
      expect.stringMatching(/^peer-signal listening on http:\/\/127\.0\.0\.1:\d+\/peerjs$/),
      // The OFFER for the absent "ghost" was taken for delivery too (queued, then expired).
      'peer-signal: 2 peers seen, 3 messages relayed (OFFER 2, ANSWER 1)',
      'peer-signal: 1 EXPIRE, 1 ID-TAKEN, 1 ERROR sent; refused: id-taken 1, key 1',
    ]);
    const json = JSON.parse(readFileSync(summary, 'utf8')) as { durationMs: number };
    expect(json).toEqual({
      exitCode: 0,
      durationMs: expect.any(Number),
      peers: 2,
      relayed: { OFFER: 2, ANSWER: 1 },
      expires: 1,
      idTaken: 1,
      errors: 1,
      refused: { 'id-taken': 1, key: 1 },
      faults: { dropped: 0, delayed: 0 },
      transcript: null,
    });
    expect(json.durationMs).toBeGreaterThan(0);
    expect(json.durationMs).toBeLessThanOrEqual(result.durationMs);
  });

  it('--fault-delay: the summary counts the delayed messages', async () => {
    const summary = freshFile('summary.json');
    const result = await run(['--fault-delay', 'OFFER=50', '--expire-timeout', '100', '--summary-json', summary, '--', NODE, scripts.signal, '0']);
    expect(result.code, result.stderr).toBe(0);
    expect(stderrLines(result)).toContain('peer-signal: faults: 0 dropped, 2 delayed');
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ relayed: { OFFER: 2, ANSWER: 1 }, faults: { dropped: 0, delayed: 2 } });
  });
});

describe('run: the transcript', () => {
  it.each([
    ['the command fails: run prints how to render it', '3', [], true],
    ['the command succeeds, with --transcript-payloads: no hint', '0', ['--transcript-payloads'], false],
  ])('%s', async (_name, exitCode, flags: string[], hint) => {
    const transcript = freshFile('signal.ndjson');
    const result = await run(['--transcript', transcript, ...flags, '--expire-timeout', '100', '--', NODE, scripts.signal, exitCode]);
    expect(result.code, result.stderr).toBe(Number(exitCode));
    // Everything up to the peers' last close is in the file once run has exited.
    const events = readFileSync(transcript, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const offer = { event: 'relay', type: 'OFFER', src: 'alice', dst: 'bob' };
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'open', id: 'alice' }),
        expect.objectContaining({ event: 'open', id: 'bob' }),
        expect.objectContaining(offer),
        expect.objectContaining({ event: 'relay', type: 'ANSWER', src: 'bob', dst: 'alice' }),
        expect.objectContaining({ event: 'id-taken', id: 'alice' }),
        expect.objectContaining({ event: 'expire', src: 'ghost', dst: 'alice' }),
        expect.objectContaining({ event: 'close', id: 'alice' }),
        expect.objectContaining({ event: 'close', id: 'bob' }),
      ]),
    );
    const relayedOffer = events.find((event) => event.event === 'relay' && event.type === 'OFFER');
    if (flags.includes('--transcript-payloads')) expect(relayedOffer).toMatchObject({ payload: { sdp: 'v=0', type: 'offer' } });
    else expect(relayedOffer).not.toHaveProperty('payload');

    const lines = stderrLines(result);
    expect(lines).toContain(`peer-signal: transcript: ${transcript}`);
    const render = `peer-signal: see the sequence diagram: peer-signal transcript ${transcript} --html ${transcript.replace(/\.ndjson$/, '.html')}`;
    expect(lines.includes(render), result.stderr).toBe(hint);
  });
});
