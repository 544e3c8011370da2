import type { BackendKind } from "./backend";
import { type CircuitPhase, notMecha } from "./circuit";
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
 * it (unreachable, stuck, full, broken, or not a Mecha server at all: a 404/405 without a
 * Mecha problem body); no when another backend would fail the same way or the caller gave up
 * (a Mecha 4xx such as `unauthorized` or `invalid_request`, an abort, a `headers` option that
 * threw).
 */
export function canFallBack(error: MechaError): boolean {
  const { code } = error;
  return code !== "aborted" && (code !== "http" || (error.status ?? 0) >= 500 || notMecha(error));
}

/**
 * Whether a backend that failed may already have run the program, so no other real
 * interpreter may run it again (only the mock, which runs nothing): it delivered events, or a
 * gateway answered 502/504 (a proxy may have passed the run on before it failed).
 */
export function mayHaveRun(kind: BackendKind, error: MechaError, delivered: boolean): boolean {
  return kind !== "mock" && (delivered || error.status === 502 || error.status === 504);
}
