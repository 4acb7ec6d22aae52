// Follows a browser driver process: its JSON-line records, waits with deadlines, and a bounded stop.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The least every driver record has: an event name, and a scenario name or an error where they apply. */
export interface DriverRecordBase {
  event: string;
  name?: string;
  error?: string;
}

/** The driver process and the records it printed, looked up by `ready`, `done` or `scenario:NAME`. */
export class DriverRun<DriverRecord extends DriverRecordBase> {
  private readonly records = new Map<string, DriverRecord>();
  private readonly waiters = new Set<() => void>();
  private readonly stderr: string[] = [];
  private readonly noise: string[] = [];
  private fatal: string | undefined;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  /**
   * @param label how failure messages name the driver ("browser driver", "browser cluster driver")
   * @param stopMs how long stop() waits after SIGTERM before killing the driver's process group
   */
  constructor(
    readonly child: ChildProcess,
    private readonly label: string,
    private readonly stopMs: number,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 40) this.stderr.shift();
    });
    child.on('error', (error) => {
      this.fatal ??= `could not start the driver: ${error.message}`;
      this.wake();
    });
    child.on('close', (code, signal) => {
      this.exit = { code, signal };
      this.wake();
    });
  }

  private onLine(line: string): void {
    let record: DriverRecord;
    try {
      record = JSON.parse(line) as DriverRecord;
    } catch {
      this.noise.push(line);
      return;
    }
    if (record.event === 'fatal') this.fatal = record.error ?? '(no message)';
    else this.records.set(record.event === 'scenario' ? `scenario:${record.name}` : record.event, record);
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** What the driver said besides records, for failure messages. */
  context(): string {
    const parts = [];
    if (this.exit !== undefined) parts.push(`driver exit: code ${this.exit.code}, signal ${this.exit.signal}`);
    if (this.noise.length > 0) parts.push(`driver stdout (not JSON):\n  ${this.noise.slice(-20).join('\n  ')}`);
    if (this.stderr.length > 0) parts.push(`driver stderr:\n  ${this.stderr.join('\n  ')}`);
    return parts.join('\n');
  }

  /** Resolves with the record under `key`; rejects once the driver died or gave up, or at the deadline. */
  wait<T extends DriverRecord>(key: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const record = this.records.get(key);
        if (record !== undefined) {
          finish();
          resolve(record as T);
        } else if (this.fatal !== undefined) {
          finish();
          reject(new Error(`the ${this.label} failed before reporting ${key}: ${this.fatal}\n${this.context()}`));
        } else if (this.exit !== undefined) {
          finish();
          reject(new Error(`the ${this.label} exited before reporting ${key}\n${this.context()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${key} from the ${this.label} within ${timeoutMs} ms\n${this.context()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGTERM (the driver closes the browser and stops its servers), then SIGKILL its process group if it overstays. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.exit !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const overstayed = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.stopMs);
      }),
    ]);
    clearTimeout(timer);
    if (overstayed) {
      // The driver leads its own process group (detached), which holds the servers it spawned.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

