// `peer-signal health`: exit 0 when the server answers healthy, 1 otherwise; --wait polls until a deadline.
import { Command, Option } from 'commander';
import type { Ora } from 'ora';
import { CliError, ExitCode, addExamples, createOutput } from './output.js';
import { parseIntegerIn } from './parse.js';
import { asObject, failureCode, httpGet, joinUrl, resolveTarget } from './target.js';

interface HealthOptions {
  url?: string;
  wait?: number;
  timeout: number;
  json?: boolean;
  color?: boolean;
  insecure?: boolean;
  strict?: boolean;
}

interface Probe {
  healthy: boolean;
  /** The server's health document when it answered with JSON. */
  document?: Record<string, unknown>;
  /** Why it is not healthy, as a phrase. */
  problem?: string;
  /** What to do about it, as a phrase. */
  hint?: string;
}

const POLL_EVERY_MS = 200;
/** Once health has its answer, nothing (a spinner, a socket) may keep it running longer than this: a HEALTHCHECK must end. */
const EXIT_GRACE_MS = 1000;

const START_A_SERVER = 'start a server with peer-signal, or pass --url (or HOST/PORT/PATH_PREFIX) to point at it';

async function probe(url: URL, timeoutMs: number, insecure: boolean, strict: boolean, signal?: AbortSignal): Promise<Probe> {
  let answer;
  try {
    answer = await httpGet(url, { timeoutMs, headers: { accept: 'application/json' }, insecure, signal });
  } catch (error) {
    return { healthy: false, problem: `no server answered at ${url.href} (${failureCode(error)})`, hint: START_A_SERVER };
  }
  const document = asObject(answer.json);
  if (answer.status === 404) {
    return {
      healthy: false,
      document,
      problem: `${url.href} answered HTTP 404`,
      hint: "a server is there, but not peer-signal's health check at that path; pass --url with just the server's origin (http://host:port)",
    };
  }
  if (answer.status !== 200 || document === undefined) {
    const what = answer.status !== 200 ? `answered HTTP ${answer.status}` : 'did not answer with a health document';
    return { healthy: false, document, problem: `${url.href} ${what}`, hint: 'check that --url points at peer-signal' };
  }
  // A degraded cluster instance still serves its own peers: healthy unless --strict.
  if (document.status !== 'ok' && !(document.status === 'degraded' && !strict)) {
    const hint = document.status === 'degraded' ? 'its cluster backend (Redis) is unreachable' : "see the server's log";
    return { healthy: false, document, problem: `the server reports status "${String(document.status)}"`, hint };
  }
  return { healthy: true, document };
}

/**
 * Probes until healthy or the deadline. A timer ends the wait at the deadline whatever is in flight
 * (a request to a server that accepts and never answers, a slow terminal), and aborts that request.
 */
async function pollUntil(url: URL, deadline: number, check: (timeoutMs: number, signal: AbortSignal) => Promise<Probe>): Promise<Probe> {
  const abort = new AbortController();
  let last: Probe = { healthy: false, problem: `no answer from ${url.href}`, hint: START_A_SERVER };
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<Probe>((resolve) => {
    timer = setTimeout(() => resolve(last), Math.max(0, deadline - Date.now()));
  });
  const polling = (async () => {
    for (;;) {
      last = await check(Math.max(100, deadline - Date.now()), abort.signal);
      if (last.healthy || Date.now() >= deadline || abort.signal.aborted) return last;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_EVERY_MS, deadline - Date.now())));
    }
  })();
  try {
    return await Promise.race([polling, timeUp]);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

async function runHealth(options: HealthOptions): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  const { base, pathGiven } = resolveTarget(options.url);
  // Every peer-signal answers /health at the root whatever its --path: ask there unless a path was given.
  const url = pathGiven ? joinUrl(base, '/health') : new URL('/health', base);
  const insecure = options.insecure === true;
  const strict = options.strict === true;
  const waitMs = (options.wait ?? 0) * 1000;
  let result: Probe;
  let spinner: Ora | undefined;
  if (waitMs > 0) {
    const deadline = Date.now() + waitMs;
    spinner = await output.spinner(`waiting for ${url.href}`);
    result = await pollUntil(url, deadline, (timeoutMs, signal) => probe(url, Math.min(options.timeout, timeoutMs), insecure, strict, signal));
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  } else {
    result = await probe(url, options.timeout, insecure, strict);
  }
  if (!result.healthy) spinner?.fail(result.problem);
  if (options.json) {
    output.stdout(JSON.stringify({ url: url.href, healthy: result.healthy, ...(result.problem ? { error: result.problem } : {}), ...result.document }) + '\n');
  }
  if (!result.healthy) {
    const waited = options.wait ? ` after waiting ${options.wait}s` : '';
    throw new CliError(`${result.problem}${waited}; ${result.hint}`, ExitCode.FAILURE);
  }
  const doc = result.document ?? {};
  const state = doc.status === 'degraded' ? ', degraded: cluster backend unreachable' : '';
  const summary = `healthy: ${url.href} (version ${String(doc.version)}, ${String(doc.peers)} peers, up ${String(doc.uptime)}s${state})`;
  if (spinner) spinner.succeed(summary);
  else if (!options.json) output.stdout(`${output.out.green('healthy')}${summary.slice('healthy'.length)}\n`);
}

export function createHealthCommand(): Command {
  const command = new Command('health')
    .description('check that a running server is healthy: exit 0 when healthy, 1 otherwise (works as a Docker HEALTHCHECK)')
    .addOption(new Option('--url <url>', 'server URL (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('--wait <seconds>', 'keep trying until healthy or this many seconds passed').argParser(parseIntegerIn(0, 3600)))
    .addOption(new Option('--timeout <ms>', 'time limit for each request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--strict', 'treat a degraded cluster instance (Redis unreachable) as unhealthy'))
    .addOption(new Option('--json', 'print the health document as JSON'))
    .action(async (options: HealthOptions) => runHealth(options));
  return addExamples(command, [
    ['peer-signal health', 'the server HOST, PORT and PATH_PREFIX describe (default 127.0.0.1:9000)'],
    ['peer-signal health --url http://127.0.0.1:9000', 'any server, whatever its --path'],
    ['peer-signal health --wait 30', 'wait up to 30 s for a server that is starting'],
    ['peer-signal health --json --strict', 'the health document; a degraded cluster instance fails'],
  ]);
}
