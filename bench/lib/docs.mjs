// Writes docs/benchmarks.md: the latest table, the chart, bench/notes.md, the machine, how to rerun, and the "scale on paper" arithmetic.
import v8 from 'node:v8';
import { REMOVED_ENV } from './processes.mjs';
import { fmt, fmtRatio, markdownTable, serverLabel, tableCells } from './report.mjs';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function pick(summary, key, server = 'peer-signal') {
  return summary.find((row) => row.key === key)?.stats[server]?.median ?? NaN;
}

const int = (value) => (Number.isFinite(value) ? Math.floor(value).toLocaleString('en-US') : '—');

/** The per-peer RSS after the idle window, when measured: the table above uses the reading taken right after connecting. */
function settledMemoryNote(summary, opts) {
  const ours = pick(summary, 'idle.bytesPerPeerSettled');
  const theirs = pick(summary, 'idle.bytesPerPeerSettled', 'reference');
  if (!Number.isFinite(ours) || !Number.isFinite(theirs)) return [];
  const seconds = opts.idleQuietSeconds + opts.idleCpuSeconds;
  return [
    `Those figures are taken right after the peers connected. After ${seconds} s of idling the same peers took ${fmt(ours)} B each in peer-signal ` +
      `and ${fmt(theirs)} B in the reference` +
      (ours < pick(summary, 'idle.bytesPerPeerTop') * 0.9
        ? ': once allocation stops, V8 collects what the connection burst left behind, so a long-running peer-signal holds more peers per GiB than the table says.'
        : '.'),
    '',
  ];
}

/** Back-of-envelope capacity from the measured per-peer costs (peer-signal, and the reference for contrast). */
export function scaleOnPaper(summary, clusterSummary, opts) {
  const lines = [];
  const top = opts.idlePeers[opts.idlePeers.length - 1];
  const memory = [
    ['512 MiB', 512 * MiB],
    ['1 GiB', GiB],
    ['4 GiB', 4 * GiB],
  ];
  const fits = (server) => {
    const base = pick(summary, 'idle.baseRss', server) * MiB;
    const perPeer = pick(summary, 'idle.bytesPerPeerTop', server);
    return memory.map(([, bytes]) => (bytes - base) / perPeer);
  };
  const ours = fits('peer-signal');
  const bare = fits('bare');
  const theirs = fits('reference');
  const perPeer = pick(summary, 'idle.bytesPerPeerTop');
  const base = pick(summary, 'idle.baseRss');
  const heapLimit = v8.getHeapStatistics().heap_size_limit / MiB;
  const cpuPerMsg = pick(summary, 'relay.cpuPerMsg');
  const msgsPerCoreSec = 1e6 / cpuPerMsg;
  const relayRate = pick(summary, 'relay.rate');
  const idleCpu = pick(summary, 'idle.cpuTop');
  const idlePeersPerCore = idleCpu > 0 ? (100 / idleCpu) * top : NaN;
  const framesPerSetup = 10;

  lines.push(
    'Arithmetic on the medians above, not a measurement of those sizes. Memory is the process RSS; the kernel also keeps',
    'per-socket buffers outside it (small for idle sockets), and real clients on real networks add TLS and proxies.',
    '',
    `**Memory.** peer-signal started at ${fmt(base)} MiB RSS and grew by ${fmt(perPeer)} B per idle peer at ${top.toLocaleString('en-US')} peers, so:`,
    '',
    '| process memory | idle peers, peer-signal | idle peers, bare ws relay | idle peers, reference |',
    '|---|---:|---:|---:|',
    ...memory.map(([label], i) => `| ${label} | ${int(ours[i])} | ${int(bare[i])} | ${int(theirs[i])} |`),
    '',
    ...settledMemoryNote(summary, opts),
    `Node's default V8 heap limit on this machine is ${fmt(heapLimit)} MiB (it scales with the memory Node sees, including a container's limit);`,
    'only part of each peer lives on the V8 heap, but past a few GiB raise it with `node --max-old-space-size=...`.',
    '',
    '**What limits one process.**',
    '',
    `- *File descriptors*: one per connected peer (plus about 20 for Node itself). Node raises its soft limit to the hard one at start, so the hard \`ulimit -n\` is the ceiling: ${opts.fdLimit.toLocaleString('en-US')} here, which is why this run stops at ${top.toLocaleString('en-US')} peers. Raise it (\`ulimit -Hn\`, systemd \`LimitNOFILE=\`, Docker \`--ulimit nofile=\`) before memory matters.`,
    '- *The concurrent limit*: `--concurrent-limit` defaults to 5,000 peers per instance (like the reference); raise it for anything above.',
    `- *One core for relay*: peer-signal runs its signaling on one thread. It used ${fmt(cpuPerMsg)} µs of CPU per relayed frame under load (${int(msgsPerCoreSec)} frames per CPU-second; ${int(relayRate)} frames/s measured with the load generator sharing the machine). A call setup is about ${framesPerSetup} relayed frames (OFFER, ANSWER, a handful of CANDIDATEs each way), so one core sets up roughly ${int(msgsPerCoreSec / framesPerSetup)} calls per second.`,
    `- *Heartbeats*: ${top.toLocaleString('en-US')} idle peers (one HEARTBEAT each per 5 s, ${int(top / 5)} frames/s) cost ${fmt(idleCpu)} % of a core, so heartbeats alone would fill a core at about ${int(idlePeersPerCore)} peers if the cost stayed linear (it grows faster: garbage collection walks a heap that grows with the peers). ` +
      (idlePeersPerCore < ours[2]
        ? `That is fewer than 4 GiB holds (${int(ours[2])}), so beyond about ${int(idlePeersPerCore)} idle peers one core, not memory, limits a process.`
        : 'That is more than 4 GiB holds, so memory and descriptors run out first.'),
    '',
  );
  const same = clusterSummary.find((row) => row.key === 'cluster.rate');
  const cpu = clusterSummary.find((row) => row.key === 'cluster.cpuPerMsg');
  const redisCpu = clusterSummary.find((row) => row.key === 'cluster.redisCpuPerMsg');
  lines.push('**Cluster mode** (`--redis`) multiplies the per-process limits by the number of instances: memory, descriptors and the');
  lines.push('concurrent limit are all per instance, and a balancer may put any peer on any instance.');
  if (same && cpu) {
    lines.push(
      `The price is on messages between instances: frames for another instance go through Redis, batched into one sharded SPUBLISH per destination instance and tick (one per round trip under load). In this run pairs split across two instances relayed ${fmt(same.stats['cross-instance'].median)} frames/s against ${fmt(same.stats['same-instance'].median)} for pairs on one instance (${fmtRatio(same.ratios[0].median)}), and the CPU of both instances plus Redis per frame went from ${fmt(cpu.stats['same-instance'].median)} µs to ${fmt(cpu.stats['cross-instance'].median)} µs (${fmtRatio(cpu.ratios[0].median)})` +
        (redisCpu ? `, of which Redis ${fmt(redisCpu.stats['cross-instance'].median)} µs.` : '.'),
      'A Redis Cluster spreads the inboxes over its masters by slot; peers that call each other on the same instance never touch Redis.',
      'docs/cluster.md has the cost model per instance and per Redis node.',
    );
  } else {
    lines.push('The cluster scenario did not run in this run, so its cost is not measured here.');
  }
  return lines.join('\n');
}

/** What each server is, for the intro and "How it was measured". */
function serverList(r) {
  const items = [
    '**reference**: the official PeerJS server, `peer@1.0.2`, through its `peerjs` CLI at its default path `/`.',
    '**bare ws relay**: `bench/targets/bare-relay.mjs`, the limit of Node + `ws` for this protocol: an `http` server and a `ws` `WebSocketServer` (`perMessageDeflate: false`, everything else at ws\'s defaults) on ws\'s public API, about 40 lines. ' +
      'It takes `id` from the query (no key or token check), keeps a `Map` from id to socket, sends `{"type":"OPEN"}`, and for each frame does `JSON.parse`, ignores HEARTBEAT, looks up `dst`, sets `src` and sends `JSON.stringify` of the result, as the reference server does (splicing `,"src":…` onto the text would be cheaper but would leave a sender\'s own `src` key in the bytes). ' +
      'It answers `GET /peerjs/peerjs/id` with a UUID and `GET /health`, and has no limits, liveness sweep, queue for absent peers or logging.',
  ];
  if (r.baseline) items.push(`**peer-signal (before)**: an older build, ${r.baseline} (\`--baseline-bin\`), run with the same flags as peer-signal.`);
  items.push(`**peer-signal**: ${r.commit}.`);
  return items;
}

export function benchmarksMarkdown(r) {
  const out = [];
  const verdictText = r.verdicts.map((v) => `${v.title}: ${v.passed} of ${v.targeted} targets met`).join('; ');
  const order = r.opts.servers.map(serverLabel).join(', ');
  out.push(
    '# Benchmarks',
    '',
    `<!-- Generated by \`node bench/run.mjs\` (${r.modeLabel}) on ${r.startedAt}. Rerun instead of editing; the section from bench/notes.md is hand-written, edit it there. -->`,
    '',
    `peer-signal against the official PeerJS server (\`peer@1.0.2\`) and a bare relay on \`ws\`${r.baseline ? ', and an older peer-signal build' : ''},`,
    `each started through its own CLI as a separate process on 127.0.0.1, measured in turn (${order}, then again in that order)`,
    'with the same load generator.',
    'The targets: ahead of the reference on every row, and within 5 % of the bare relay or better on relay throughput,',
    'connect rate, bytes per idle peer, idle CPU and cold start.',
    `Only ratios from one run mean anything: the machine is shared. This run: ${verdictText}.`,
    '',
    '![peer-signal / reference, median ratio per metric](benchmarks-ratios.png)',
    '',
    '## Results',
    '',
    `${r.opts.reps} repetition${r.opts.reps > 1 ? 's' : ''}; each cell is the median [min–max] over repetitions, each ratio is taken per repetition and shown as its median [min–max], and the verdict is on the median ratio.`,
    'peer-signal / reference must be better than 1× (above for "higher is better" rows, below for the others); peer-signal / bare must be ≥ 0.95× or ≤ 1.05×.',
    ...(r.baseline ? ['after / before is peer-signal / peer-signal (before), with no target.'] : []),
    'Rates, latencies and cold start are wall-clock numbers and move with whatever else the machine is doing; the CPU rows',
    '(server CPU per relayed frame and per connected session, idle CPU) count CPU time and hold up better on a busy machine,',
    'and also when the load generator rather than the server set the pace (see the CPU table below).',
    '',
    markdownTable(tableCells(r.summary, r.opts.reps)),
    '',
  );
  if (r.clusterSummary.length > 0) {
    out.push(
      '### Cluster mode (peer-signal only)',
      '',
      'Two instances and one Redis; the ratio is cross-instance / same-instance.',
      '',
      markdownTable(tableCells(r.clusterSummary, r.opts.reps)),
      '',
    );
  }
  if (r.handNotes) out.push('<!-- From bench/notes.md (hand-written; kept across runs). -->', '', r.handNotes, '', '<!-- End of bench/notes.md. -->', '');
  out.push(
    '### CPU of the servers and of the load generator',
    '',
    'Percent of one core over each measuring window (from `/proc/PID/stat`). The load generator is the sum of its worker',
    `processes${r.pinned ? ', which all share one core, so 100 % is its ceiling' : ''}; a value near ${r.saturation} % would mean it, not the server, set the pace.`,
    '"Waiting for CPU" is the time the threads were runnable but not running (`/proc/PID/task/*/schedstat`), summed over',
    'threads and processes: other work on the machine (or, in cluster mode, the other processes on the server core) held them',
    'back for that long. Large values mean the wall-clock numbers of that row are partly a measure of the machine.',
    '',
    markdownTable(r.usageCells),
    '',
  );
  if (r.cpuProfile) out.push('### Where peer-signal spends its CPU under relay load', '', r.cpuProfile, '');
  if (r.warnings.length > 0) {
    out.push('### Warnings from this run', '', ...r.warnings.map((w) => `- ${w}`), '');
  }
  out.push('## How it was measured', '', ...serverList(r).map((item) => `- ${item}`));
  for (const [scenario, notes] of r.notes) out.push(`- **${scenario}**: ${notes.join(' ')}`);
  out.push(
    `- **processes**: ${r.pinningText}. Every process is started by the bench and killed by PID at the end of its step (also on Ctrl-C and errors).`,
    '- **logging**: peer-signal and the reference run at their default log level and log a line per connection; the bench drains every server\'s stdout through a pipe the same way (the bare relay writes only its listening line).',
    '- **load generator**: worker processes using the `ws` client (no compression, UTF-8 validation off, zero masking key so the client skips the XOR; the servers unmask every frame as usual), except in the connect and relay scenarios, which open sessions over bare TCP sockets that write pre-encoded frames and parse the server\'s by hand (`bench/loadgen/raw-session.mjs`; see the connect note): with the `ws` client, the load core saturated before the servers did. Each batch of sessions binds its own source address in 127.0.0.0/8 (all loopback on Linux), so 20,000 clients do not exhaust one address\'s ephemeral ports, and sockets are closed with a reset so no TIME_WAIT piles up between steps.',
    `- **environment**: every server gets the bench's environment${REMOVED_ENV.length > 0 ? ` minus ${REMOVED_ENV.map((name) => `\`${name}\``).join(', ')}: with it set, Node parses every certificate in that file before running any JavaScript, about 60–90 ms of each start on this machine, though no server makes a TLS connection` : ''}.`,
    '- **limits**: defaults everywhere except where a scenario says otherwise (peer-signal `--rate-limit 0` for relay and cluster; the concurrent-peer limit of peer-signal and the reference for idle); the bare relay has none.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${r.machine.cpuModel} |`,
    `| cores | ${r.machine.cores} |`,
    `| memory | ${r.machine.memoryGiB} GiB |`,
    `| Node.js | ${r.machine.node} |`,
    `| kernel | ${r.machine.kernel} |`,
    `| file descriptors (hard limit) | ${r.opts.fdLimit.toLocaleString('en-US')} |`,
    `| pinning | ${r.pinningText} |`,
    `| machine load | ${r.loadText} |`,
    `| date | ${r.startedAt} (the run took ${Math.round(r.durationSec)} s) |`,
    `| peer-signal commit | ${r.commit} |`,
    ...(r.baseline ? [`| peer-signal (before) | ${r.baseline} |`] : []),
    '',
    '## Rerun',
    '',
    '```sh',
    'npm run bench              # builds, then 3 repetitions (7–8 minutes on a busy 2-core machine); rewrites this file and the chart',
    'npm run bench:quick        # builds, then 1 repetition (2–3 minutes); prints the table only',
    'node bench/run.mjs --help  # --reps, --only/--skip scenarios, --write-docs, --cpu-prof; run `npm run build` first',
    '',
    '# before / after: build the older commit in a worktree, then add it as a fourth server',
    'git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci && npm run build)',
    'npm run build && node bench/run.mjs --write-docs --baseline-bin /tmp/before/bin/peer-signal.js',
    '```',
    '',
    'A hand-written section in `bench/notes.md` (for example what each removed fast path had been worth) is copied into this',
    'file after the results on every run; edit it there, not here.',
    '',
    `Raw measurements, one JSON object per line, go to \`bench/results/<timestamp>.jsonl\` (git-ignored); this run: \`${r.resultsFile}\`.`,
    'Needs Linux for `/proc`; `taskset`, `wrk` and `redis-server` are used when present (without `redis-server` the cluster',
    'scenario is skipped with a notice, without `wrk` a Node client measures the id endpoint), and `/usr/bin/chromium` renders the chart',
    '(otherwise only `benchmarks-ratios.svg` is written).',
    '',
    '## Scale on paper',
    '',
    scaleOnPaper(r.summary, r.clusterSummary, r.opts),
    '',
  );
  return out.join('\n');
}
