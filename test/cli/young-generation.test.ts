// The young-generation policy: small while idle, V8's growth from the first busy second, small again after a quiet minute.
import { describe, expect, it } from 'vitest';
import { BUSY_FRAMES_PER_SEC, QUIET_SECONDS, createGrowthPolicy } from '../../src/cli/young-generation.js';

describe('young-generation growth policy', () => {
  it('stays small while frames trickle in', () => {
    const policy = createGrowthPolicy();
    let frames = 0;
    for (let second = 0; second < 120; second++) {
      frames += BUSY_FRAMES_PER_SEC - 1;
      expect(policy(frames)).toBe(1);
    }
  });

  it('lets V8 grow it from the first busy second until a quiet minute has passed', () => {
    const policy = createGrowthPolicy();
    let frames = 10;
    expect(policy(frames)).toBe(1);
    frames += BUSY_FRAMES_PER_SEC;
    expect(policy(frames)).toBe(2);
    for (let second = 1; second < QUIET_SECONDS; second++) {
      frames += 5;
      expect(policy(frames), `quiet second ${second}`).toBe(2);
    }
    frames += 5;
    expect(policy(frames)).toBe(1);
    frames += BUSY_FRAMES_PER_SEC * 3;
    expect(policy(frames)).toBe(2);
  });
});
