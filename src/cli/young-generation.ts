// Sizes V8's young generation by what the server is doing: small while it holds idle peers, free to
// grow while it relays. A process-wide V8 setting, so the CLI decides it, never the library.
import { setFlagsFromString } from 'node:v8';

/** Frames per second from which relaying, not holding connections, is the server's main work. */
export const BUSY_FRAMES_PER_SEC = 1000;
/** Seconds below that rate before the young generation is kept small again. */
export const QUIET_SECONDS = 60;

/** V8's growth factor for the young generation: 1 holds it at its current size, 2 is V8's default. */
type GrowthFactor = 1 | 2;

/**
 * Decides the growth factor from one sample per second of the frame counter. Kept apart from the
 * timer and V8 so the policy can be tested on its own.
 */
export function createGrowthPolicy(): (framesSoFar: number) => GrowthFactor {
  let lastFrames = 0;
  let quietSeconds = QUIET_SECONDS;
  return (framesSoFar) => {
    const rate = framesSoFar - lastFrames;
    lastFrames = framesSoFar;
    quietSeconds = rate >= BUSY_FRAMES_PER_SEC ? 0 : quietSeconds + 1;
    return quietSeconds < QUIET_SECONDS ? 2 : 1;
  };
}

/**
 * Why: while thousands of peers connect, most new objects survive a scavenge, and V8 answers by
 * doubling the young generation up to 32 MiB, which it keeps while the peers sit idle: about 3 KB
 * of RSS per peer at 10,000 peers. Holding it at its initial 1 MiB avoids that, but under relay load
 * (every frame allocates a few KB that die young) it means a scavenge every few milliseconds, about
 * a quarter more CPU per relayed frame and worse tail latency. So: small by default, V8's own growth
 * from the first second with BUSY_FRAMES_PER_SEC frames, and no further growth after QUIET_SECONDS
 * of calm (what grew meanwhile stays until V8 itself shrinks it). Returns a function that stops the sampling.
 */
export function manageYoungGeneration(framesHandled: () => number): () => void {
  const policy = createGrowthPolicy();
  let current: GrowthFactor | undefined;
  const apply = (factor: GrowthFactor): void => {
    if (factor === current) return;
    current = factor;
    setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  };
  apply(1);
  const timer = setInterval(() => apply(policy(framesHandled())), 1000);
  timer.unref();
  return () => clearInterval(timer);
}
