// A throwaway Redis Cluster on loopback for the cluster tests: masters and replicas as redis-server processes joined by redis-cli --cluster create; kill a master, wait for its replica.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort, redisMissing, signalAndWait, spawnRedis, waitReady, type Running } from './redis-server.js';

/** The Debian redis-tools package puts it on PATH next to redis-server. */
export const REDIS_CLI = process.env.PEER_SIGNAL_TEST_REDIS_CLI ?? 'redis-cli';
/** A fresh cluster agrees on its slots within a second or two; a failover takes node-timeout plus an election. */
const SETTLE_MS = 30_000;
const BIND_ATTEMPTS = 5;
const run = promisify(execFile);

/** Why a Redis Cluster cannot be started here (redis-server or redis-cli missing), or undefined when it can. */
export const redisClusterMissing: string | undefined =
  redisMissing ??
  (() => {
    const probe = spawnSync(REDIS_CLI, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (probe.error !== undefined || probe.status !== 0) return `${REDIS_CLI} not found; install it with: apt-get install redis-tools`;
    return undefined;
  })();

export interface RedisCluster {
  /** The masters' URLs, comma-separated, as --redis takes them with --redis-cluster. */
  readonly url: string;
  /** Every node's port, masters first. */
  readonly ports: readonly number[];
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the master serving `key`'s slot and waits for its exit; resolves to its port. */
  killMasterOf(key: string): Promise<number>;
  /** Waits until a replica serves `key`'s slot instead of `killed` and every surviving node reports the cluster ok; resolves to the new master's port. */
  failedOver(key: string, killed: number): Promise<number>;
  /** SIGKILLs every node and removes their files. Idempotent. */
  stop(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  return stdout;
}

/** The master port of `slot` from CLUSTER SLOTS as redis-cli prints it (one value per line). */
async function slotMaster(port: number, slot: number): Promise<number | undefined> {
  const lines = (await cli(port, 'cluster', 'slots')).trim().split('\n');
  // Each range: start, end, then per node host, port, id (and, in 7.0, an empty metadata list).
  for (let i = 0; i + 4 < lines.length; i++) {
    const start = Number(lines[i]);
    const end = Number(lines[i + 1]);
    if (Number.isInteger(start) && Number.isInteger(end) && lines[i + 2] === '127.0.0.1' && slot >= start && slot <= end) {
      return Number(lines[i + 3]);
    }
  }
  return undefined;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    // Polling an external process's state: there is no event to wait on.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Redis Cluster: ${what} did not happen within ${SETTLE_MS} ms${last ? ` (${last})` : ''}`);
}

/**
 * Starts `masters` masters with `replicas` replicas each on free 127.0.0.1 ports (cluster bus ports
 * picked separately, so nothing needs port + 10000), non-persistent, node timeout `nodeTimeoutMs`,
 * and waits until every node agrees that all 16384 slots are served.
 */
export async function startRedisCluster(options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  if (redisClusterMissing !== undefined) throw new Error(redisClusterMissing);
  const { masters = 3, replicas = 0, nodeTimeoutMs = 1000 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'peer-signal-redis-cluster-'));
  const nodes = new Map<number, Running>();
  const stop = async (): Promise<void> => {
    await Promise.all([...nodes.values()].map((node) => signalAndWait(node, 'SIGKILL')));
    nodes.clear();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const failures: string[] = [];
      for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        const port = await findFreePort();
        const busPort = await findFreePort();
        if (busPort === port || nodes.has(port)) continue;
        const node = spawnRedis(
          port,
          [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', `nodes-${port}.conf`,
            '--cluster-node-timeout', String(nodeTimeoutMs),
            '--cluster-port', String(busPort),
            '--dir', dir,
          ],
          dir,
        );
        if (await waitReady(node, port)) {
          nodes.set(port, node);
          break;
        }
        failures.push(`port ${port}: ${node.output.join('').trim() || 'exited'}`);
      }
      if (nodes.size !== i + 1) throw new Error(`redis-server (cluster node) would not start: ${failures.join('; ')}`);
    }
    const ports = [...nodes.keys()];
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: 30_000 },
    );
    await until('every node reporting cluster_state:ok', async () => {
      for (const port of ports) {
        const info = await cli(port, 'cluster', 'info');
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${ports.length}`)) return false;
      }
      return true;
    });
    if (replicas > 0) {
      // A replica can only take over once it has synchronised with its master.
      await until('every replica in sync', async () => {
        for (const port of ports) {
          const info = await cli(port, 'info', 'replication');
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
        }
        return true;
      });
    }
    const masterPorts: number[] = [];
    for (const port of ports) if ((await cli(port, 'info', 'replication')).includes('role:master')) masterPorts.push(port);
    const ordered = [...masterPorts, ...ports.filter((port) => !masterPorts.includes(port))];

    const alivePort = (): number => {
      const port = [...nodes.keys()][0];
      if (port === undefined) throw new Error('the Redis Cluster was stopped');
      return port;
    };
    const masterOf = async (key: string): Promise<number> => {
      const slot = Number((await cli(alivePort(), 'cluster', 'keyslot', key)).trim());
      const master = await slotMaster(alivePort(), slot);
      if (master === undefined) throw new Error(`no master serves slot ${slot}`);
      return master;
    };
    return {
      url: masterPorts.map((port) => `redis://127.0.0.1:${port}`).join(','),
      ports: ordered,
      masterOf,
      async killMasterOf(key) {
        const killed = await masterOf(key);
        await signalAndWait(nodes.get(killed), 'SIGKILL');
        nodes.delete(killed);
        return killed;
      },
      async failedOver(key, killed) {
        const slot = Number((await cli(alivePort(), 'cluster', 'keyslot', key)).trim());
        let promoted = killed;
        await until(`a replica serving slot ${slot} after killing ${killed}`, async () => {
          for (const port of nodes.keys()) {
            const info = await cli(port, 'cluster', 'info');
            if (!info.includes('cluster_state:ok')) return false;
          }
          const master = await slotMaster(alivePort(), slot);
          if (master === undefined || master === killed) return false;
          promoted = master;
          return true;
        });
        return promoted;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
