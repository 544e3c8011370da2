/**
 * 128 random bits as 32 hex digits, e.g. for an `Idempotency-Key`. `crypto.getRandomValues`
 * rather than `randomUUID`, which browsers offer only to secure contexts.
 */
export function randomKey(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
