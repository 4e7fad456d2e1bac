/** The `state` of an authorization request (RFC 6749 §10.12), compared as a secret. */

/**
 * Compares states without an early exit, so response timing says nothing about how much matched.
 * Base64 padding is ignored: PipeOps may return the state without it.
 */
export function sameState(actual: string, expected: string): boolean {
  return constantTimeEqual(actual.replace(/=+$/, ""), expected.replace(/=+$/, ""));
}

/** Compares secrets without an early exit, so response timing says nothing about how much matched. */
export function constantTimeEqual(actual: string, expected: string): boolean {
  const a = new TextEncoder().encode(actual);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}
