// Constant-time comparison of secrets, so response timing tells an attacker nothing about a key.
import { createHash, timingSafeEqual } from 'node:crypto';

/** True when `given` equals `expected`; hashing first makes the lengths equal for timingSafeEqual. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
