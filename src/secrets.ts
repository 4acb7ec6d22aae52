// Constant-time comparison of secrets, so response timing tells an attacker nothing about a key's content.
import { timingSafeEqual } from 'node:crypto';

/**
 * Returns a check for `expected`, prepared once: the id route runs it on every request, so it avoids
 * hashing. The time taken depends only on the expected secret's length (a length mismatch still
 * runs a full comparison), never on how much of a guess is right.
 */
export function createSecretMatcher(expected: string): (given: string) => boolean {
  const wanted = Buffer.from(expected, 'utf8');
  return (given) => {
    const offered = Buffer.from(given, 'utf8');
    if (offered.length !== wanted.length) {
      timingSafeEqual(wanted, wanted);
      return false;
    }
    return timingSafeEqual(offered, wanted);
  };
}
