import type { HealthResponse } from "@mecha/protocol";
import type { MechaError } from "./errors/MechaError";

/**
 * What the client believes about the server: `unknown` before the first answer, `online`,
 * `degraded` (the server says so, or requests have started failing), `offline` (the circuit
 * is open).
 */
export type ConnectionStatus = "unknown" | "online" | "degraded" | "offline";

/** `closed`: requests go to the server. `open`: it is skipped. `half_open`: one probe is out. */
export type CircuitPhase = "closed" | "open" | "half_open";

/** The client's whole connection state; a new object on every change. */
export interface ClientState {
  readonly status: ConnectionStatus;
  readonly circuit: CircuitPhase;
  /** Consecutive failed requests; 0 after any answer from the server. */
  readonly failures: number;
  /** The last health body, or null before the first successful check. */
  readonly health: HealthResponse | null;
}

/**
 * What happened on the wire. `success`: the server answered (optionally with its health).
 * `failure`: it did not, or its health says it cannot run code. `probe`: a health check starts.
 */
export type CircuitEvent =
  | { readonly type: "success"; readonly health?: HealthResponse }
  | { readonly type: "failure"; readonly health?: HealthResponse }
  | { readonly type: "probe" };

export interface CircuitPolicy {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  /** Health check interval while the circuit is closed and nothing fails. */
  readonly intervalMs: number;
  /** First delay between probes once requests fail; doubled per failure while open. */
  readonly offlineMinMs: number;
  /** Longest delay between probes while open. */
  readonly offlineMaxMs: number;
}

export const initialState: ClientState = {
  status: "unknown",
  circuit: "closed",
  failures: 0,
  health: null,
};

function same(a: ClientState, b: ClientState): boolean {
  return (
    a.status === b.status &&
    a.circuit === b.circuit &&
    a.failures === b.failures &&
    a.health === b.health
  );
}

/**
 * The state machine, as a pure function. Returns `state` itself when nothing changed, so
 * callers can compare by reference.
 */
export function transition(
  state: ClientState,
  event: CircuitEvent,
  policy: Pick<CircuitPolicy, "threshold">,
): ClientState {
  let next: ClientState;
  if (event.type === "probe") {
    if (state.circuit !== "open") return state;
    next = { ...state, circuit: "half_open" };
  } else if (event.type === "success" && event.health?.status !== "unavailable") {
    const health = event.health ?? state.health;
    next = {
      status: health?.status === "degraded" ? "degraded" : "online",
      circuit: "closed",
      failures: 0,
      health,
    };
  } else {
    // A health body that says `unavailable` is the server's own word: open at once.
    const failures =
      event.health?.status === "unavailable"
        ? Math.max(state.failures + 1, policy.threshold)
        : state.failures + 1;
    const open = state.circuit !== "closed" || failures >= policy.threshold;
    next = {
      status: open ? "offline" : "degraded",
      circuit: open ? "open" : "closed",
      failures,
      health: event.health ?? state.health,
    };
  }
  return same(state, next) ? state : next;
}

/**
 * Milliseconds until the next health check: the regular interval while all is well, a quick
 * re-check after a failure, and exponential backoff up to `offlineMaxMs` while open.
 */
export function nextCheckDelay(state: ClientState, policy: CircuitPolicy): number {
  if (state.circuit === "closed") {
    return state.failures === 0 ? policy.intervalMs : policy.offlineMinMs;
  }
  const doublings = Math.max(0, state.failures - policy.threshold);
  return Math.min(policy.offlineMaxMs, policy.offlineMinMs * 2 ** doublings);
}

/**
 * The event a failed request feeds the machine: `failure` when the server did not answer
 * properly, `success` when it answered with a deliberate refusal (4xx, 429, `busy`), and
 * nothing for an abort, which says nothing about the server.
 */
export function circuitEventFor(error: MechaError): CircuitEvent | null {
  switch (error.code) {
    case "aborted":
      return null;
    case "network":
    case "timeout":
    case "invalid_response":
    case "unavailable":
      return { type: "failure" };
    case "http":
      return (error.status ?? 500) >= 500 ? { type: "failure" } : { type: "success" };
    default:
      return { type: "success" };
  }
}
