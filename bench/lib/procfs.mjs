// Reads what the kernel knows about a process (RSS, CPU ticks) and about the machine, from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

let clockTicks;
/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime in /proc/PID/stat. */
export function clockTicksPerSec() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size in bytes (VmRSS), or NaN when the process is gone. */
export function readRssBytes(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** utime + stime of the process (all its threads), in seconds; NaN when it is gone. */
export function readCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSec();
  } catch {
    return NaN;
  }
}

/**
 * Seconds the process's threads spent runnable but waiting for a CPU (field 2 of /proc/PID/task/TID/schedstat):
 * how much other work on the machine held it back. NaN without schedstats.
 */
export function readRunDelaySeconds(pid) {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // the thread ended in between
      }
    }
    return total / 1e9;
  } catch {
    return NaN;
  }
}

/**
 * Starts measuring CPU use of `pids`; `stop()` returns the CPU seconds used and the percentage
 * of one core over the wall time in between (200 % = two cores busy).
 */
export function startCpuWindow(pids) {
  const start = process.hrtime.bigint();
  const before = pids.map(readCpuSeconds);
  const delayBefore = pids.map(readRunDelaySeconds);
  return {
    stop() {
      const wallSec = Number(process.hrtime.bigint() - start) / 1e9;
      const after = pids.map(readCpuSeconds);
      const perPid = after.map((value, i) => value - before[i]);
      const cpuSec = perPid.reduce((a, b) => a + b, 0);
      const delaySec = pids.map(readRunDelaySeconds).reduce((sum, value, i) => sum + value - delayBefore[i], 0);
      return {
        cpuSec,
        wallSec,
        pct: (100 * cpuSec) / wallSec,
        perPidPct: perPid.map((s) => (100 * s) / wallSec),
        /** Time runnable but not running, % of the window: high means other load on the machine held it back. */
        waitPct: (100 * delaySec) / wallSec,
      };
    },
  };
}

/** CPU model, cores, memory, Node and kernel version: printed with every run. */
export function machineInfo() {
  let model = os.cpus()[0]?.model?.trim() || 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) model = match[1].trim();
  } catch {
    // os.cpus() is good enough
  }
  return {
    cpuModel: model,
    // os.cpus() counts every online CPU; availableParallelism() would only see this process's affinity.
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    arch: process.arch,
  };
}
