// The pool of load-generator processes (bench/loadgen/worker.mjs) pinned to the load core, driven over IPC.
import path from 'node:path';
import { ROOT, pinning, spawnTracked, stopProcess } from './processes.mjs';

const WORKER = path.join(ROOT, 'bench/loadgen/worker.mjs');

/** Starts `size` workers; each holds its own sockets (and its own fd budget). */
export async function startLoadgen(size) {
  const workers = [];
  for (let i = 0; i < size; i++) {
    const child = spawnTracked(`loadgen-${i}`, pinning.loadCpu, process.execPath, [WORKER], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: ROOT,
      env: { ...process.env, BENCH_WORKER_INDEX: String(i) },
    });
    const worker = { child, pid: child.pid, pending: new Map(), nextId: 1 };
    child.on('message', (message) => {
      const waiter = worker.pending.get(message.reqId);
      if (!waiter) return;
      worker.pending.delete(message.reqId);
      if (message.error) waiter.reject(new Error(`loadgen-${i}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of worker.pending.values()) waiter.reject(new Error(`loadgen-${i} exited (${code ?? signal})`));
      worker.pending.clear();
    });
    worker.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`loadgen-${i} did not start within 10 s`)), 10000);
      child.once('message', (message) => {
        clearTimeout(timer);
        worker.spreadSources = Boolean(message.spreadSources);
        resolve();
      });
      child.once('exit', () => reject(new Error(`loadgen-${i} exited while starting`)));
    });
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => w.ready));

  function call(index, cmd, args, timeoutMs = 120000) {
    const worker = workers[index];
    const reqId = worker.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.pending.delete(reqId);
        reject(new Error(`loadgen-${index}: ${cmd} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      worker.pending.set(reqId, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      worker.child.send({ reqId, cmd, args });
    });
  }

  return {
    size,
    pids: workers.map((w) => w.pid),
    /** Whether the workers bind their own 127.x.y.z source addresses (see worker.mjs). */
    get spreadSources() {
      return workers.every((w) => w.spreadSources);
    },
    call,
    /** Runs `cmd` on workers 0..count-1 with per-worker arguments `argsFor(index)`. */
    on(count, cmd, argsFor, timeoutMs) {
      return Promise.all(Array.from({ length: count }, (_, i) => call(i, cmd, argsFor(i), timeoutMs)));
    },
    closeAll(timeoutMs = 20000) {
      return Promise.all(workers.map((_, i) => call(i, 'close', {}, timeoutMs).catch(() => undefined)));
    },
    async stop() {
      await Promise.all(workers.map((w) => stopProcess(w.child, 2000)));
    },
  };
}

/** Splits `total` into `parts` integers that differ by at most one. */
export function split(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
