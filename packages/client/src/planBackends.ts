import type { BackendKind } from "./backend";
import type { CircuitPhase } from "./circuit";
import type { MechaError } from "./errors/MechaError";

/** A fallback backend, tried when the server cannot run the code. */
export type FallbackKind = "mock" | "browser";

/**
 * The order in which backends are tried for one run. While the circuit is closed the server
 * goes first; while it is open the fallbacks do, with the server as the last resort. Without
 * fallbacks the server is always tried.
 */
export function planBackends(
  circuit: CircuitPhase,
  fallbacks: readonly FallbackKind[],
): BackendKind[] {
  if (fallbacks.length === 0) return ["server"];
  return circuit === "closed" ? ["server", ...fallbacks] : [...fallbacks, "server"];
}

/**
 * Whether a failed run may move on to the next backend: yes when the backend could not run
 * it (unreachable, stuck, full, broken); no when another backend would fail the same way or
 * the caller gave up (a 4xx such as `unauthorized` or `invalid_request`, an abort).
 */
export function canFallBack(error: MechaError): boolean {
  switch (error.code) {
    case "aborted":
      return false;
    case "http":
      return (error.status ?? 500) >= 500;
    default:
      return true;
  }
}
