// `peer-signal health`: exit 0 when the server answers healthy, 1 otherwise; --wait polls until a deadline.
import { Command, Option } from 'commander';
import { CliError, ExitCode, createOutput } from './output.js';
import { parseIntegerIn } from './parse.js';
import { httpGet, joinUrl, resolveBaseUrl } from './target.js';

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
}

const POLL_EVERY_MS = 200;

async function probe(url: URL, timeoutMs: number, insecure: boolean, strict: boolean): Promise<Probe> {
  let answer;
  try {
    answer = await httpGet(url, timeoutMs, { accept: 'application/json' }, insecure);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { healthy: false, problem: `no server answered at ${url.href} (${code})` };
  }
  let document: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(answer.body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) document = parsed as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (answer.status !== 200) return { healthy: false, document, problem: `${url.href} answered HTTP ${answer.status}` };
  if (document === undefined) return { healthy: false, problem: `${url.href} did not answer with a health document (is this peer-signal?)` };
  // A degraded cluster instance still serves its own peers: healthy unless --strict.
  if (document.status !== 'ok' && !(document.status === 'degraded' && !strict)) {
    return { healthy: false, document, problem: `the server reports status "${String(document.status)}"` };
  }
  return { healthy: true, document };
}

async function runHealth(options: HealthOptions): Promise<void> {
  const output = createOutput({ color: options.color, json: options.json });
  const url = joinUrl(resolveBaseUrl(options.url), '/health');
  const deadline = Date.now() + (options.wait ?? 0) * 1000;
  const spinner = options.wait ? await output.spinner(`waiting for ${url.href}`) : undefined;
  const strict = options.strict === true;
  let result = await probe(url, options.timeout, options.insecure === true, strict);
  while (!result.healthy && Date.now() < deadline) {
    const pause = Math.min(POLL_EVERY_MS, deadline - Date.now());
    await new Promise((resolve) => setTimeout(resolve, pause));
    result = await probe(url, Math.min(options.timeout, Math.max(100, deadline - Date.now())), options.insecure === true, strict);
  }
  if (options.json) {
    output.stdout(JSON.stringify({ url: url.href, healthy: result.healthy, ...(result.problem ? { error: result.problem } : {}), ...result.document }) + '\n');
  }
  if (!result.healthy) {
    spinner?.fail(result.problem);
    const waited = options.wait ? ` after waiting ${options.wait}s` : '';
    throw new CliError(
      `${result.problem}${waited}; start a server with peer-signal, or pass --url (or HOST/PORT/PATH_PREFIX) to point at it`,
      ExitCode.FAILURE,
    );
  }
  const doc = result.document ?? {};
  const state = doc.status === 'degraded' ? ', degraded: cluster backend unreachable' : '';
  const summary = `healthy: ${url.href} (version ${String(doc.version)}, ${String(doc.peers)} peers, up ${String(doc.uptime)}s${state})`;
  if (spinner) spinner.succeed(summary);
  else if (!options.json) output.stdout(`${output.out.green('healthy')}${summary.slice('healthy'.length)}\n`);
}

export function createHealthCommand(): Command {
  return new Command('health')
    .description('check that a running server is healthy: exit 0 when healthy, 1 otherwise (works as a Docker HEALTHCHECK)')
    .addOption(new Option('--url <url>', 'server URL (default: built from HOST, PORT and PATH_PREFIX)'))
    .addOption(new Option('--wait <seconds>', 'keep trying until healthy or this many seconds passed').argParser(parseIntegerIn(0, 3600)))
    .addOption(new Option('--timeout <ms>', 'time limit for each request').default(3000).argParser(parseIntegerIn(1, 600_000)))
    .addOption(new Option('--insecure', 'accept self-signed HTTPS certificates'))
    .addOption(new Option('--strict', 'treat a degraded cluster instance (Redis unreachable) as unhealthy'))
    .addOption(new Option('--json', 'print the health document as JSON'))
    .action(async (options: HealthOptions) => runHealth(options));
}
