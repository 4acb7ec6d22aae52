// Scenario "id endpoint": HTTP requests/s on GET {prefix}/{key}/id with wrk (pinned to the load core), or a Node fallback.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCpuWindow } from '../lib/procfs.mjs';
import { hasCommand, httpGet, pinning, spawnTracked, startServer, stopProcess } from '../lib/processes.mjs';

/** Starts wrk pinned to the load core; `result` resolves with its parsed summary. */
function startWrk(url, { threads, connections, seconds }) {
  const child = spawnTracked('wrk', pinning.loadCpu, 'wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const result = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopProcess(child, 500);
      reject(new Error(`wrk did not finish within ${seconds + 15} s`));
    }, (seconds + 15) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (code !== 0 || !rps) return reject(new Error(`wrk failed (exit ${code}): ${out.trim().slice(-400)}`));
      const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
      const socketErrors = /Socket errors:([^\n]+)/.exec(out);
      const requests = /(\d+) requests in/.exec(out);
      resolve({
        rps: Number(rps[1]),
        requests: requests ? Number(requests[1]) : NaN,
        non2xx: non2xx ? Number(non2xx[1]) : 0,
        socketErrors: socketErrors ? socketErrors[1].trim() : '',
      });
    });
  });
  return { pid: child.pid, result };
}

/** Keep-alive GETs from this process, `connections` in flight, bounded by time and by count. */
async function runNode(url, { connections, seconds }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = performance.now() + seconds * 1000;
  const maxRequests = 5_000_000;
  let done = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const one = () =>
    new Promise((resolve) => {
      const request = http.get(url, { agent }, (response) => {
        if (response.statusCode !== 200) non2xx++;
        response.resume();
        response.on('end', resolve);
      });
      request.on('error', () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline && done < maxRequests) {
        await one();
        done++;
      }
    }),
  );
  agent.destroy();
  return { rps: done / ((performance.now() - start) / 1000), requests: done, non2xx, socketErrors: errors ? `errors ${errors}` : '' };
}

export default {
  name: 'id-endpoint',
  title: 'id endpoint: GET {prefix}/{key}/id requests/s',
  budgetMs: (opts) => opts.reps * opts.servers.length * (opts.idSeconds * 1000 + 40_000),
  async run(ctx) {
    const useWrk = hasCommand('wrk');
    const { idSeconds: seconds, idConnections: connections } = ctx.opts;
    ctx.note(
      'id-endpoint',
      useWrk
        ? `wrk -t1 -c${connections} -d${seconds}s (after a 1 s warm-up run)${pinning.enabled ? `, pinned to CPU ${pinning.loadCpu}` : ''}. peer-signal and the bare relay: GET /peerjs/peerjs/id; reference (path /): GET /peerjs/id. All with key "peerjs".`
        : `wrk not found: a Node keep-alive client (${connections} in flight, ${seconds} s) from the orchestrator process; install wrk for better numbers.`,
    );
    for (let rep = 1; rep <= ctx.opts.reps; rep++) {
      for (const kind of ctx.order(rep)) {
        ctx.progress(`id endpoint rep ${rep}/${ctx.opts.reps}: ${kind}`);
        const server = await startServer(kind);
        try {
          const check = await httpGet(server.idUrl);
          if (check.status !== 200 || check.body.trim().length === 0) {
            throw new Error(`${kind}: GET ${server.idUrl} answered ${check.status} ${JSON.stringify(check.body.slice(0, 80))}`);
          }
          const options = (secs) => ({ threads: 1, connections, seconds: secs });
          if (useWrk) await startWrk(server.idUrl, options(1)).result;
          else await runNode(server.idUrl, options(1));
          const serverCpu = startCpuWindow([server.pid]);
          let result;
          let load;
          if (useWrk) {
            const wrk = startWrk(server.idUrl, options(seconds));
            const loadCpu = startCpuWindow([wrk.pid]);
            // wrk's CPU must be read while it still exists: close the window just before it ends.
            const loadStop = sleep(seconds * 1000 - 150).then(() => loadCpu.stop());
            result = await wrk.result;
            load = await loadStop;
          } else {
            const loadCpu = startCpuWindow([process.pid]);
            result = await runNode(server.idUrl, options(seconds));
            load = loadCpu.stop();
          }
          const cpu = serverCpu.stop();
          ctx.measure('id.rps', kind, rep, result.rps, { requests: result.requests, non2xx: result.non2xx, socketErrors: result.socketErrors, tool: useWrk ? 'wrk' : 'node' });
          ctx.usage('id endpoint', kind, rep, cpu, load);
          if (result.non2xx > 0) ctx.warn(`id endpoint rep ${rep} ${kind}: ${result.non2xx} non-2xx responses`);
        } finally {
          await server.stop();
        }
      }
    }
  },
};
