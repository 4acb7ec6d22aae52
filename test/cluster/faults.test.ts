// Cluster faults with the built bundle as separate processes: kill -9 of an instance, Redis lost and back, Redis absent at start.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { within } from '../support/deadline.js';
import { serverEnv } from '../support/server-env.mjs';
import { closeAll, connectRaw, type TestClient } from '../support/peer-client.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { findClosedPort, skipWithoutRedis, startRedis, type RedisServer } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/peer-signal.js', import.meta.url));
const LEASE_MS = 1000;
const EXPIRE_MS = 500;
/** The reaper runs every lease/3 on live instances, so a dead instance's ids are free within about this. */
const LEASE_BOUND_MS = LEASE_MS + Math.floor(LEASE_MS / 3);
/**
 * Scheduling slack on a busy 2-core machine (two node processes, redis-server and vitest): a stalled event loop in any of
 * them delays a renewal, a reap or the poll. Generous, since the bound is about "within a lease or so", not milliseconds:
 * an id freed only after several leases, or never, still fails.
 */
const SLACK_MS = 2000;
const START_MS = 10_000;
const EXIT_MS = 10_000;
/** ioredis backs off up to 3 s between attempts; the resync follows the reconnect. */
const RECOVER_MS = 12_000;
const SETTLE_MS = 5000;
const ID_TAKEN = { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line, the listening line first (with --json, log records follow as JSON lines). */
  readonly lines: string[];
  stderr: string;
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
}

const live = new Set<Proc>();

function spawnCli(args: readonly string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: serverEnv({ NO_COLOR: '1' }), stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    lines: [],
    stderr: '',
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.on('close', (code, signal) => {
        proc.exit = { code, signal };
        live.delete(proc);
        resolve(proc.exit);
      });
      child.on('error', (error) => {
        proc.stderr += `spawn error: ${error.message}\n`;
      });
    }),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => proc.lines.push(line));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    proc.stderr += chunk;
  });
  live.add(proc);
  return proc;
}

function killByPid(proc: Proc, signal: NodeJS.Signals): void {
  if (proc.exit !== undefined || proc.pid <= 0) return;
  try {
    process.kill(proc.pid, signal);
  } catch {
    // already gone
  }
}

/** A `peer-signal` server process in cluster mode, with its port read from the first stdout line. */
interface Instance extends Proc {
  readonly port: number;
  /** The JSON log records printed after the listening line. */
  logs(): Array<Record<string, unknown>>;
}

async function startInstance(redisUrl: string, prefix: string, extra: readonly string[] = []): Promise<Instance> {
  const args = [
    '--port', '0',
    '--host', '127.0.0.1',
    '--json',
    '--redis', redisUrl,
    '--redis-prefix', prefix,
    '--cluster-lease', String(LEASE_MS),
    '--expire-timeout', String(EXPIRE_MS),
    '--allow-discovery',
    ...extra,
  ];
  const proc = spawnCli(args);
  const first = await within(
    (async () => {
      await vi.waitFor(
        () => {
          if (proc.lines.length > 0) return;
          if (proc.exit !== undefined) throw new Error('exited');
          throw new Error('no line yet');
        },
        { timeout: START_MS, interval: 10 },
      );
      return proc.lines[0]!;
    })(),
    START_MS + 1000,
    'waiting for the listening line',
  ).catch((error: Error) => {
    throw new Error(`peer-signal ${args.join(' ')} did not print its listening line (${error.message}); exit ${JSON.stringify(proc.exit)}; stderr: ${proc.stderr}`);
  });
  const listening = JSON.parse(first) as { event: string; port: number };
  expect(listening.event).toBe('listening');
  return Object.assign(proc, {
    port: listening.port,
    logs: () =>
      proc.lines.slice(1).flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  });
}

/** Runs a short-lived CLI command to completion (killed at the deadline). */
async function runCli(args: readonly string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnCli(args);
  try {
    const exit = await within(proc.exited, EXIT_MS, `peer-signal ${args.join(' ')}`);
    return { ...exit, stdout: proc.lines.join('\n'), stderr: proc.stderr };
  } finally {
    killByPid(proc, 'SIGKILL');
  }
}

const skip = skipWithoutRedis('the cluster fault tests');

describe.skipIf(skip)('cluster faults (built bundle, separate processes)', () => {
  let redis: RedisServer | undefined;
  let prefix = '';
  const clients: TestClient[] = [];

  beforeAll(() => {
    for (const built of ['dist/cli.js', 'bin/peer-signal.js']) {
      if (!existsSync(`${ROOT}${built}`)) throw new Error(`${built} is missing; run npm run build first (npm test does it)`);
    }
  });

  afterEach(async () => {
    await closeAll(clients.splice(0));
    const procs = [...live];
    for (const proc of procs) killByPid(proc, 'SIGKILL');
    await Promise.all(procs.map((proc) => proc.exited));
    await redis?.kill();
    redis = undefined;
  });

  async function freshRedis(): Promise<RedisServer> {
    redis = await startRedis();
    prefix = `faults-${randomBytes(5).toString('hex')}:`;
    return redis;
  }

  function raw(instance: Instance, id: string, token: string): TestClient {
    const client = connectRaw(`ws://127.0.0.1:${instance.port}/peerjs/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=${token}`);
    clients.push(client);
    return client;
  }

  async function peer(instance: Instance, id: string, token = `token-${id}`): Promise<TestClient> {
    const client = raw(instance, id, token);
    const first = await client.next(5000);
    if (first.type !== 'OPEN') throw new Error(`expected OPEN for ${id}, got ${JSON.stringify(first)}`);
    return client;
  }

  async function getJson(instance: Instance, path: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`http://127.0.0.1:${instance.port}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: response.status, body: await response.json() };
  }

  async function peersOf(instance: Instance): Promise<string[]> {
    const { status, body } = await getJson(instance, '/peerjs/peerjs/peers');
    if (status !== 200) throw new Error(`GET /peers answered ${status}: ${JSON.stringify(body)}`);
    return (body as string[]).slice().sort();
  }

  async function health(instance: Instance): Promise<{ status: number; body: Record<string, unknown> }> {
    const { status, body } = await getJson(instance, '/health');
    return { status, body: body as Record<string, unknown> };
  }

  async function knows(instance: Instance, id: string, timeout = SETTLE_MS): Promise<void> {
    await expect.poll(() => peersOf(instance), { timeout }).toContain(id);
  }

  it('an instance killed with -9 frees its ids within the lease bound; messages to them meanwhile get EXPIRE', async () => {
    const { url } = await freshRedis();
    const a = await startInstance(url, prefix);
    const b = await startInstance(url, prefix);
    const alice = await peer(a, 'alice', 'one');
    await peer(a, 'ann', 'one');
    const bob = await peer(b, 'bob');
    await expect.poll(() => peersOf(b), { timeout: SETTLE_MS }).toEqual(['alice', 'ann', 'bob']);
    await expect.poll(async () => (await health(b)).body, { timeout: SETTLE_MS }).toMatchObject({ cluster: { instances: 2 } });
    // Cross-instance relay works before the crash.
    bob.send({ type: 'OFFER', dst: 'alice', payload: 'before' });
    expect(await alice.next()).toEqual({ type: 'OFFER', dst: 'alice', src: 'bob', payload: 'before' });

    killByPid(a, 'SIGKILL');
    expect(await within(a.exited, EXIT_MS, 'waiting for the killed instance')).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = Date.now();
    expect(await alice.closed).toBe(1006);

    // During the gap the dead instance's ids count as absent: the sender hears EXPIRE, not silence.
    bob.send({ type: 'OFFER', dst: 'alice', payload: 'anyone there?' });
    bob.send({ type: 'CANDIDATE', dst: 'alice', payload: 'still?' });
    expect(await bob.next(EXPIRE_MS + 2000)).toEqual({ type: 'EXPIRE', src: 'alice', dst: 'bob' });
    bob.send({ type: 'OFFER', dst: 'ann', payload: 'and you?' });
    expect(await bob.next(EXPIRE_MS + 2000)).toEqual({ type: 'EXPIRE', src: 'ann', dst: 'bob' });

    // Another instance can claim the id with another token once the lease ran out.
    let claimed: TestClient | undefined;
    await vi.waitFor(
      async () => {
        const attempt = raw(b, 'alice', 'two');
        const first = await attempt.next(3000);
        expect([ID_TAKEN, { type: 'OPEN' }]).toContainEqual(first);
        expect(first).toEqual({ type: 'OPEN' });
        claimed = attempt;
      },
      { timeout: LEASE_BOUND_MS + SLACK_MS + 3000, interval: 50 },
    );
    const freedAfterMs = Date.now() - killedAt;
    console.info(`kill -9: id claimable again after ${freedAfterMs} ms (bound ${LEASE_BOUND_MS} ms + ${SLACK_MS} ms slack)`);
    expect(freedAfterMs).toBeLessThanOrEqual(LEASE_BOUND_MS + SLACK_MS);
    // The reaper removed the dead instance and its ids from the cluster view.
    await expect.poll(async () => (await health(b)).body, { timeout: LEASE_BOUND_MS + SLACK_MS }).toMatchObject({
      status: 'ok',
      peers: 2,
      cluster: { peers: 2, instances: 1, redis: 'connected' },
    });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(LEASE_BOUND_MS + 2 * SLACK_MS);
    expect(await peersOf(b)).toEqual(['alice', 'bob']);
    bob.send({ type: 'OFFER', dst: 'alice', payload: 'new alice' });
    expect(await claimed!.next()).toEqual({ type: 'OFFER', dst: 'alice', src: 'bob', payload: 'new alice' });
    await peer(b, 'ann', 'another');
    expect(b.exit).toBeUndefined();
  }, 30_000);

  it.each(['one redis-server', 'a Redis Cluster of three masters'])(
    '%s: with the expire timeout well inside the lease (5 s and 10 s by default), messages to a killed instance’s peers get EXPIRE on time, round after round',
    async (backend) => {
      // While the dead instance's lease runs, each lease tick looks the waiting destinations up again, finds it, and
      // hands their messages back to it: they must keep their deadline through every round trip, whether the route
      // was cached (carol) or looked up after the crash (bob).
      const lease = 6000;
      const expire = 1000;
      let cluster: RedisCluster | undefined;
      try {
        let extra = ['--cluster-lease', String(lease), '--expire-timeout', String(expire)];
        let url: string;
        if (backend === 'one redis-server') url = (await freshRedis()).url;
        else {
          cluster = await startRedisCluster({ masters: 3 });
          url = cluster.url;
          prefix = `faults-${randomBytes(5).toString('hex')}:`;
          extra = [...extra, '--redis-cluster'];
        }
        const a = await startInstance(url, prefix, extra);
        const b = await startInstance(url, prefix, extra);
        const c = await startInstance(url, prefix, extra);
        const alice = await peer(a, 'alice');
        await peer(a, 'ann');
        const bob = await peer(b, 'bob');
        const carol = await peer(c, 'carol');
        // carol's instance remembers where alice is (a cached route); bob's looks ann up only after the crash.
        carol.send({ type: 'OFFER', dst: 'alice', payload: 'before' });
        expect(await alice.next()).toMatchObject({ payload: 'before' });

        killByPid(a, 'SIGKILL');
        await within(a.exited, EXIT_MS, 'waiting for the killed instance');
        // Every round waits across a lease tick (lease/3), while the owner records still name the dead instance.
        for (let round = 0; round < 3; round++) {
          const sentAt = Date.now();
          carol.send({ type: 'OFFER', dst: 'alice', payload: `round ${round}` });
          bob.send({ type: 'OFFER', dst: 'ann', payload: `round ${round}` });
          expect(await carol.next(expire + lease / 3 + 2000)).toEqual({ type: 'EXPIRE', src: 'alice', dst: 'carol' });
          expect(await bob.next(expire + lease / 3 + 2000)).toEqual({ type: 'EXPIRE', src: 'ann', dst: 'bob' });
          console.info(`${backend}, kill -9, round ${round}: both EXPIREs after ${Date.now() - sentAt} ms (expire timeout ${expire} ms)`);
        }
        expect(b.exit).toBeUndefined();
        expect(c.exit).toBeUndefined();
      } finally {
        // The instances go before the Redis Cluster they use (afterEach stops the single redis-server).
        await closeAll(clients.splice(0));
        const procs = [...live];
        for (const proc of procs) killByPid(proc, 'SIGKILL');
        await Promise.all(procs.map((proc) => proc.exited));
        await cluster?.stop();
      }
    },
    60_000,
  );

  it('Redis lost while running: local relay goes on, health says degraded; Redis back: peers re-registered and cross-instance relay resumes', async () => {
    const server = await freshRedis();
    const a = await startInstance(server.url, prefix);
    const b = await startInstance(server.url, prefix);
    const alice = await peer(a, 'alice');
    const carol = await peer(a, 'carol');
    const bob = await peer(b, 'bob');
    await knows(a, 'bob');
    await knows(b, 'alice');
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'before' });
    expect(await bob.next()).toEqual({ type: 'OFFER', dst: 'bob', src: 'alice', payload: 'before' });

    await server.stop();
    for (const instance of [a, b]) {
      await expect.poll(() => health(instance), { timeout: SETTLE_MS }).toMatchObject({ status: 200, body: { status: 'degraded' } });
    }
    const degraded = (await health(a)).body;
    expect(degraded).toMatchObject({ status: 'degraded', peers: 2 });
    expect((degraded.cluster as { redis: string }).redis).not.toBe('connected');

    // Each instance keeps serving its own peers.
    alice.send({ type: 'OFFER', dst: 'carol', payload: 'local' });
    expect(await carol.next()).toEqual({ type: 'OFFER', dst: 'carol', src: 'alice', payload: 'local' });
    const dave = await peer(b, 'dave');
    dave.send({ type: 'CANDIDATE', dst: 'bob', payload: 'local too' });
    expect(await bob.next()).toEqual({ type: 'CANDIDATE', dst: 'bob', src: 'dave', payload: 'local too' });
    // A peer on the other instance cannot be reached now: the sender hears EXPIRE rather than nothing.
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'during the outage' });
    expect(await alice.next(EXPIRE_MS + 2000)).toEqual({ type: 'EXPIRE', src: 'bob', dst: 'alice' });
    // During the outage nobody can check ids cluster-wide, so both instances admit the same id.
    const dupA = await peer(a, 'dup', 'token-a');
    const dupB = await peer(b, 'dup', 'token-b');

    const healthy = await runCli(['health', '--url', `http://127.0.0.1:${a.port}`]);
    expect(healthy, healthy.stderr).toMatchObject({ code: 0 });
    expect(healthy.stdout).toContain('degraded');
    const strict = await runCli(['health', '--strict', '--url', `http://127.0.0.1:${a.port}`]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^error: .*degraded/);

    await server.restart();
    for (const instance of [a, b]) {
      await expect
        .poll(async () => (await health(instance)).body, { timeout: RECOVER_MS })
        .toMatchObject({ status: 'ok', cluster: { redis: 'connected' } });
    }
    await knows(a, 'bob');
    await knows(b, 'alice');
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'after' });
    expect(await bob.next()).toEqual({ type: 'OFFER', dst: 'bob', src: 'alice', payload: 'after' });
    bob.send({ type: 'ANSWER', dst: 'alice', payload: 'after too' });
    expect(await alice.next()).toEqual({ type: 'ANSWER', dst: 'alice', src: 'bob', payload: 'after too' });
    // The id admitted twice during the outage: re-registration keeps exactly one of them.
    const outcome = await within(
      Promise.race([dupA.closed.then(() => 'a lost'), dupB.closed.then(() => 'b lost')]),
      RECOVER_MS,
      'waiting for one of the duplicate ids to be dropped',
    );
    const loser = outcome === 'a lost' ? dupA : dupB;
    expect(loser.pending).toEqual([ID_TAKEN]);
    expect(await loser.closed).toBe(1008);
    await expect.poll(() => peersOf(a), { timeout: SETTLE_MS }).toEqual(['alice', 'bob', 'carol', 'dave', 'dup']);
    await expect.poll(() => peersOf(b), { timeout: SETTLE_MS }).toEqual(['alice', 'bob', 'carol', 'dave', 'dup']);

    // No restart and no crash, and the loss was logged once per instance.
    for (const instance of [a, b]) {
      expect(instance.exit).toBeUndefined();
      const events = instance.logs().map((record) => record.event);
      expect(events.filter((event) => event === 'redis connection lost: serving local peers only, reconnecting')).toHaveLength(1);
      expect(instance.stderr).toBe('');
    }
  }, 45_000);

  it('Redis unreachable at start: one error line naming --redis-optional, exit 1', async () => {
    const port = await findClosedPort();
    const result = await runCli([
      '--port', '0', '--host', '127.0.0.1', '--json', '--redis', `redis://127.0.0.1:${port}`, '--cluster-lease', String(LEASE_MS),
    ]);
    const seen = JSON.stringify(result);
    expect(result.code, seen).toBe(1);
    expect(result.stdout, seen).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0], seen).toMatch(new RegExp(`^error: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}\\b`));
    expect(lines[0], seen).toContain('--redis-optional');
  }, 20_000);

  it('--redis-optional starts alone and serves while Redis is down, then joins the cluster when it comes up', async () => {
    const server = await freshRedis();
    await server.stop();
    const a = await startInstance(server.url, prefix, ['--redis-optional', '--log-level', 'debug']);
    const events = (): unknown[] => a.logs().map((record) => record.event);
    await expect.poll(events).toContain('redis unreachable: starting alone, will join the cluster when it is back');
    // Redis stays away for a while, as it would in production: at least three reconnect attempts per connection.
    await expect.poll(() => events().filter((event) => event === 'redis error').length, { timeout: SETTLE_MS }).toBeGreaterThanOrEqual(8);
    expect((await health(a)).body).toMatchObject({ status: 'degraded', peers: 0 });
    const alice = await peer(a, 'alice');
    const ann = await peer(a, 'ann');
    alice.send({ type: 'OFFER', dst: 'ann', payload: 'alone' });
    expect(await ann.next()).toEqual({ type: 'OFFER', dst: 'ann', src: 'alice', payload: 'alone' });
    const alone = await runCli(['health', '--url', `http://127.0.0.1:${a.port}`]);
    expect(alone.code).toBe(0);

    await server.restart();
    await expect
      .poll(async () => (await health(a)).body, { timeout: RECOVER_MS })
      .toMatchObject({ status: 'ok', peers: 2, cluster: { redis: 'connected' } });
    const b = await startInstance(server.url, prefix);
    const bob = await peer(b, 'bob');
    // a registered its peers on joining: b sees them, and a second alice elsewhere is refused.
    await knows(b, 'alice');
    const intruder = raw(b, 'alice', 'other');
    expect(await intruder.next()).toEqual(ID_TAKEN);
    // a receives what b relays to its peers (a listens on its inbox)...
    bob.send({ type: 'ANSWER', dst: 'alice', payload: 'welcome' });
    // Both sides in one assertion, so a failure shows whether bob heard EXPIRE instead (a not listening).
    const atAlice = await alice.next(EXPIRE_MS + 2000).catch(() => 'nothing');
    expect({ atAlice, atBob: bob.pending }).toEqual({
      atAlice: { type: 'ANSWER', dst: 'alice', src: 'bob', payload: 'welcome' },
      atBob: [],
    });
    // ...and hears about b's peers (a listens to the cluster events) and relays to them.
    await knows(a, 'bob');
    alice.send({ type: 'OFFER', dst: 'bob', payload: 'joined' });
    expect(await bob.next()).toEqual({ type: 'OFFER', dst: 'bob', src: 'alice', payload: 'joined' });
    expect(a.exit).toBeUndefined();
  }, 45_000);
});
