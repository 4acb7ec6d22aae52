// Running a recipe's command (npx playwright, npx vitest, sh) as a bounded child process that leaves nothing behind.
import { spawn } from 'node:child_process';
import { dirname, delimiter } from 'node:path';
import { serverEnv } from '../e2e/helpers.js';

export interface RecipeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

/**
 * The environment of a user's shell: without the product's variables (a PEER_SIGNAL_URL from an outer
 * `peer-signal run` would point the recipe elsewhere), the npm_* variables of an outer `npm test` and
 * vitest's own; with this node first on PATH and `extra` on top.
 */
export function recipeEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = serverEnv();
  for (const name of Object.keys(env)) {
    if (name.toLowerCase().startsWith('npm_') || name.startsWith('VITEST')) delete env[name];
  }
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Runs `file args` in its own process group, stdout and stderr together. Past `timeoutMs` the group
 * gets SIGTERM, then SIGKILL 5 s later; once the command has exited, whatever it left running in its
 * group (a web server, a browser) is killed.
 */
export function runRecipe(file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RecipeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // ESRCH: nothing left in the group.
      }
    };
    let force: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      force = setTimeout(() => killGroup('SIGKILL'), 5000);
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // Whatever is still in the group once the command has exited was left behind (and may hold the pipes open).
    child.once('exit', () => killGroup('SIGKILL'));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(force);
      resolve({ code, signal, output, timedOut });
    });
  });
}
