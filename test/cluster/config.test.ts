// Redis Cluster settings: what resolveConfig refuses (and says why), and the CLI taking seed nodes from --redis or REDIS_URL
// with --redis-cluster or PEER_SIGNAL_REDIS_CLUSTER, against a real three-master Redis Cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { killAll, runCli, startServer } from '../e2e/helpers.js';
import { requires } from '../support/prerequisites.js';
import { redisClusterMissing, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

describe('Redis Cluster configuration', () => {
  it.each([
    [{ redisUrl: 'redis://a:7000,redis://b:7001' }, /redisUrl lists 2 URLs: set redisCluster when they are Redis Cluster nodes/],
    [{ redisUrl: 'redis://a:7000,rediss://b:7001', redisCluster: true }, /mixes redis:\/\/ and rediss:\/\//],
    [{ redisUrl: 'redis://a:7000,http://b:7001', redisCluster: true }, /redisUrl must look like redis:\/\//],
    [{ redisUrl: 'redis://a:7000', redisCluster: 'yes' as unknown as boolean }, /redisCluster must be a boolean/],
    // A brace would move the hash tag that keeps each script's keys in one slot.
    [{ redisPrefix: 'app{1}:' }, /redisPrefix must be up to 64 printable characters without spaces or braces/],
  ])('refuses %j', (partial, message) => {
    expect(() => resolveConfig(partial)).toThrowError(message);
  });

  it('takes seed nodes, with spaces after the commas, when they are Redis Cluster nodes', () => {
    const config = resolveConfig({ redisUrl: 'redis://a:7000, redis://b:7001,redis://c:7002', redisCluster: true });
    expect(config.redisCluster).toBe(true);
    expect(config.redisUrl).toBe('redis://a:7000, redis://b:7001,redis://c:7002');
  });

  it('names the flags in the CLI error for several URLs without --redis-cluster, exit 2 (a usage error)', async () => {
    const result = await runCli(['--port', '0', '--host', '127.0.0.1', '--redis', 'redis://127.0.0.1:7000,redis://127.0.0.1:7001']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --redis lists 2 URLs: set --redis-cluster when they are Redis Cluster nodes, or give one URL$/m);
  });
});

const redisCluster = requires('the Redis Cluster CLI tests', redisClusterMissing);

redisCluster.describe('the CLI against a Redis Cluster', () => {
  let cluster: RedisCluster | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);

  afterAll(async () => {
    await killAll();
    await cluster?.stop();
  });

  it('REDIS_URL with every seed and PEER_SIGNAL_REDIS_CLUSTER=true: the instance joins the cluster, and /health says so', async () => {
    const server = await startServer([], {
      env: { REDIS_URL: cluster!.url, PEER_SIGNAL_REDIS_CLUSTER: 'true', PEER_SIGNAL_REDIS_PREFIX: 'cli-env:' },
    });
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', cluster: { instances: 1, redis: 'connected' } });
  });

  it('one seed node with --redis-cluster is enough: the client finds the other masters', async () => {
    const seed = cluster!.url.split(',')[0]!;
    const server = await startServer(['--redis', seed, '--redis-cluster', '--redis-prefix', 'cli-seed:']);
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', cluster: { instances: 1, redis: 'connected' } });
  });
});
