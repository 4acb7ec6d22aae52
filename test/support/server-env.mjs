// The environment every test spawns peer-signal (or a program that embeds it) with: the parent's, minus what the server reads.

/**
 * Variables the CLI reads as configuration: the documented short names, the official server's PEERSERVER_PATH, and
 * REDIS_URL (a CI machine that sets it for its own services would turn every test server into a cluster instance).
 * Every PEER_SIGNAL_* variable goes too (settings, and the URL `peer-signal run` hands its command).
 */
const CONFIG_VARIABLES = ['PORT', 'HOST', 'PATH_PREFIX', 'PEERSERVER_PATH', 'API_KEY', 'ALLOW_DISCOVERY', 'REDIS_URL'];
/**
 * Variables that change the output or the process: colour (NO_COLOR, FORCE_COLOR; tests that check colour set them
 * themselves), stack traces (DEBUG=peer-signal), and Node's own flags. CI and TERM stay: only the spinner reads them,
 * on a terminal, and the terminal tests set them.
 */
const BEHAVIOUR_VARIABLES = ['NO_COLOR', 'FORCE_COLOR', 'DEBUG', 'NODE_OPTIONS'];

/** Whether the server would read `name`. */
export function isServerVariable(name) {
  return CONFIG_VARIABLES.includes(name) || BEHAVIOUR_VARIABLES.includes(name) || name.startsWith('PEER_SIGNAL_');
}

/**
 * A copy of `env` (default: this process's) without anything that would change peer-signal's behaviour behind a test's
 * back, with `extra` applied on top (an undefined value deletes the variable).
 */
export function serverEnv(extra = {}, env = process.env) {
  const clean = {};
  for (const [name, value] of Object.entries(env)) if (!isServerVariable(name)) clean[name] = value;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete clean[name];
    else clean[name] = value;
  }
  return clean;
}
