// Runs the official `peer` README's server examples, with only `require("peer")` changed to `require("peer-signal")`, against
// the built package, and the real peerjs client in headless Chromium against each. Prints one JSON line per event.
// Meant to run inside a network namespace whose only interface is lo, where the examples' fixed port 9000 is free and private:
//   unshare -n -- sh -c 'ip link set lo up && exec node test/compat/readme-driver.mjs'
// stdout lines: {"event":"ready"}, then {"event":"scenario","name":EXAMPLE,"scenarios":{...}} per example, then {"event":"done"}.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverEnv } from '../support/server-env.mjs';
import {
  ROOT,
  STOP_MS,
  cleanUp,
  cleanups,
  emit,
  launchBrowser,
  requireLoopbackOnly,
  runDriver,
  runScenario,
  startPageServer,
  tail,
  withDeadline,
} from '../e2e/browser/driver-kit.mjs';

const DRIVER_DEADLINE_MS = 110_000;
const EXAMPLE_START_MS = 15_000;
const SCENARIOS = ['data-connection', 'server-assigned-id'];
/** Inside the project, so that `require("peer-signal")` finds the package itself (its built dist/) and `require("express")` ours. */
const WORK = join(ROOT, 'test-artifacts', 'compat-readme');

/** The fenced code blocks of `peer`'s README, each with the heading it is under. */
function readmeBlocks() {
  const text = readFileSync(join(ROOT, 'node_modules/peer/README.md'), 'utf8');
  const blocks = [];
  let heading = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence === null) continue;
    const body = [];
    for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ heading, lang: fence[1], code: body.join('\n').replace(/^\t+/gm, (tabs) => '  '.repeat(tabs.length)) });
  }
  return blocks;
}

function blockUnder(blocks, heading, marker) {
  const found = blocks.find((block) => block.heading.includes(heading) && block.code.includes(marker));
  if (found === undefined) throw new Error(`peer's README has no code block under "${heading}" containing ${marker}`);
  return found.code;
}

/** The examples, exactly as the README has them but for the import. Each listens on port 9000 (or $PORT, unset here). */
function readmeExamples() {
  const blocks = readmeBlocks();
  const combining = blockUnder(blocks, 'Combining with existing express app', 'ExpressPeerServer');
  // One block holds two alternatives: the shared lines, then `// =======`, one way, `// == OR ==`, the other, `// ========`.
  const [shared, rest] = combining.split(/^\/\/ =======$/m);
  const [listenFirst, orPart] = rest.split(/^\/\/ == OR ==$/m);
  const [createServerFirst] = orPart.split(/^\/\/ ========$/m);
  const peerServerBlock = blockUnder(blocks, 'Create a custom server', 'PeerServer(');
  const appEngine = blockUnder(blocks, 'Running in Google App Engine', 'ExpressPeerServer');
  return [
    { name: 'express: app.listen, then ExpressPeerServer', code: shared + listenFirst, path: '/peerjs/myapp' },
    { name: 'express: http.createServer, ExpressPeerServer, then listen', code: shared + createServerFirst, path: '/peerjs/myapp' },
    { name: 'PeerServer({ port: 9000, path: "/myapp" })', code: peerServerBlock, path: '/myapp' },
    { name: 'Google App Engine server.js (mounted at /, path /)', code: appEngine, path: '/' },
  ].map((example) => {
    const requires = example.code.match(/require\("peer"\)/g) ?? [];
    if (requires.length !== 1) throw new Error(`expected one require("peer") in "${example.name}", found ${requires.length}`);
    return { ...example, code: example.code.replace('require("peer")', 'require("peer-signal")') };
  });
}

/** Resolves once `url` answers, polling a server that says nothing when it is ready; bounded. */
async function waitForHttp(url, child, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example exited with ${child.exitCode} before answering ${url}`);
    try {
      const response = await fetch(url);
      return { status: response.status, body: await response.text() };
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function runExample(example, file, context, pageOrigin) {
  const stderr = tail(40);
  // Without PORT and the rest: the examples listen where they say (port 9000, in this namespace).
  const child = spawn(process.execPath, [file], { cwd: WORK, stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv({ NO_COLOR: '1' }) });
  child.stdout.resume();
  child.stderr.on('data', (chunk) => String(chunk).split('\n').forEach((line) => line && stderr.push(line)));
  const exited = once(child, 'exit');
  try {
    const info = await waitForHttp(`http://127.0.0.1:9000${example.path}`, child, EXAMPLE_START_MS);
    const target = { host: '127.0.0.1', port: 9000, path: example.path, key: 'peerjs' };
    const scenarios = {};
    for (const name of SCENARIOS) scenarios[name] = await runScenario(context, pageOrigin, target, name);
    return { info, scenarios, stderr: stderr.lines() };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await withDeadline(exited, STOP_MS, `stopping example ${example.name}`).catch(() => child.kill('SIGKILL'));
  }
}

async function main() {
  requireLoopbackOnly('test/compat/readme-driver.mjs');
  mkdirSync(WORK, { recursive: true });
  const examples = readmeExamples();
  const pages = await startPageServer('test/e2e/browser/harness.js');
  cleanups.push({ name: 'pages', run: pages.close });
  const { browser, context } = await launchBrowser(pages.origin);
  emit({ event: 'ready', browserVersion: browser.version(), examples: examples.map(({ name }) => name) });
  for (const [index, example] of examples.entries()) {
    const file = join(WORK, `example-${index + 1}.cjs`);
    writeFileSync(file, `${example.code}\n`);
    try {
      emit({ event: 'scenario', name: example.name, code: example.code, ...(await runExample(example, file, context, pages.origin)) });
    } catch (error) {
      emit({ event: 'scenario', name: example.name, code: example.code, error: error instanceof Error ? error.message : String(error) });
    }
  }
  emit({ event: 'done', cleanup: await cleanUp() });
}

runDriver(main, DRIVER_DEADLINE_MS);
