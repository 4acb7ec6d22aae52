// A throwaway Prometheus on a free loopback port that scrapes one target every second: start, query its API, stop by PID.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe } from './prerequisites.js';
import { findFreePort } from './redis-server.js';

/** The binary; Debian's `prometheus` package puts it on PATH, with `promtool` beside it. */
export const PROMETHEUS = process.env.PEER_SIGNAL_TEST_PROMETHEUS ?? 'prometheus';
export const PROMTOOL = process.env.PEER_SIGNAL_TEST_PROMTOOL ?? 'promtool';
/** A fresh Prometheus opens its TSDB and web UI in about a second; a busy 2-core machine may take several. */
const READY_MS = 20_000;
const STOP_MS = 10_000;
/** Attempts with a fresh port when the one we picked was taken between probing and binding. */
const BIND_ATTEMPTS = 5;

/** Why Prometheus cannot be used here, or undefined when it can (for {@link requires}). */
export function prometheusProblem(): string | undefined {
  return probe('prometheus', () => {
    for (const binary of [PROMETHEUS, PROMTOOL]) {
      const found = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
      if (found.error !== undefined || found.status !== 0) {
        const why = found.error?.message ?? `exit ${found.status}`;
        return `${binary} --version failed (${why}); install it with: apt-get install prometheus`;
      }
    }
    return undefined;
  });
}

/** What Prometheus scrapes: `http://{address}{metricsPath}`, with `Authorization: Bearer {bearer}` when given. */
export interface ScrapeTarget {
  address: string;
  metricsPath: string;
  bearer?: string;
}

/** One series of an instant vector. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number | undefined;
  /** Evaluates a PromQL instant query now. */
  query(promql: string): Promise<Sample[]>;
  /** SIGTERM by PID, SIGKILL after a deadline, then removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** One series of Prometheus's instant-vector answer: the value is a [time, text] pair. */
type QueryResult = { metric: Record<string, string>; value: [number, string] };

function scrapeConfig(target: ScrapeTarget): string {
  // JSON is YAML: no YAML writer needed, and every value is quoted correctly.
  const job = {
    job_name: 'peer-signal',
    metrics_path: target.metricsPath,
    static_configs: [{ targets: [target.address] }],
    ...(target.bearer === undefined ? {} : { authorization: { type: 'Bearer', credentials: target.bearer } }),
  };
  return JSON.stringify({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: [job] }, null, 2);
}

async function isReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts Prometheus with a temporary config and TSDB, scraping `target` every second; resolves once /-/ready answers 200. */
export async function startPrometheus(target: ScrapeTarget): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'peer-signal-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, scrapeConfig(target));
  const failures: string[] = [];
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) => {
      output += `spawn error: ${error.message}`;
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const deadline = Date.now() + READY_MS;
    while (!gone && Date.now() < deadline && !(await isReady(url))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!gone && (await isReady(url))) {
      let stopped: Promise<void> | undefined;
      return {
        url,
        pid: child.pid,
        async query(promql) {
          const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
          const body = (await response.json()) as { status: string; error?: string; data?: { result: QueryResult[] } };
          if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error ?? response.status}`);
          return body.data!.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
        },
        stop() {
          stopped ??= (async () => {
            if (!gone && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
            const killer = setTimeout(() => {
              if (!gone && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
            }, STOP_MS);
            await exited;
            clearTimeout(killer);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    if (!gone && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exited;
    failures.push(`port ${port}: ${output.trim() || 'not ready in time'}`);
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`prometheus would not start: ${failures.join('; ')}`);
}

/** `promtool check metrics` on an exposition text: its complaints, one per line (empty when clean). */
export function lintMetrics(exposition: string): string[] {
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined) throw result.error;
  return `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
}
