import type { HealthResponse } from "@mecha/protocol";
import type { MechaError } from "./errors/MechaError";

/**
 * What the client believes about the server: `unknown` until a health check has succeeded
 * (failures before that prove nothing about a server never reached), `online`, `degraded` (the
 * server says so, requests have started failing, or it answers but its runs fail), `offline`
 * (the circuit is open).
 */
export type ConnectionStatus = "unknown" | "online" | "degraded" | "offline";

/**
 * Why the last health check failed, as far as the client can tell:
 * - `unreachable`: nothing answered (the server is down, the address is wrong, or the network
 *   is away);
 * - `cors`: the server answered, but the browser withheld the answer from this page: the
 *   server's CORS settings do not allow the page's origin;
 * - `timeout`: no answer within `timeoutMs`;
 * - `not_mecha`: something answered, but not a Mecha server (a 404 page, HTML, other JSON);
 * - `unauthorized`: the server refused the client's credentials (401 or 403);
 * - `http`: the server answered with another error status (a 5xx, a 429 from a proxy);
 * - `unavailable`: the server answered that it cannot run code.
 */
export type ConnectionErrorKind =
  | "unreachable"
  | "cors"
  | "timeout"
  | "not_mecha"
  | "unauthorized"
  | "http"
  | "unavailable";

/** What went wrong with the last health check, in words for a developer. */
export interface ConnectionError {
  readonly kind: ConnectionErrorKind;
  /** What happened and what to check, e.g. which origin to allow. */
  readonly message: string;
  /** The request's error, when there was one. */
  readonly cause?: MechaError;
}

/** `closed`: requests go to the server. `open`: it is skipped. `half_open`: one probe is out. */
export type CircuitPhase = "closed" | "open" | "half_open";

/** The client's whole connection state; a new object on every change. */
export interface ClientState {
  readonly status: ConnectionStatus;
  readonly circuit: CircuitPhase;
  /** Consecutive failed requests; 0 after any answer from the server. */
  readonly failures: number;
  /**
   * Consecutive runs the server failed to run (no answer, a 5xx, a broken stream); 0 only
   * after a run completes on the server. A healthy `/health` does not clear it.
   */
  readonly runFailures: number;
  /** The last health body, or null before the first successful check. */
  readonly health: HealthResponse | null;
  /** Why the last health check failed; null once one succeeds. */
  readonly error: ConnectionError | null;
}

/**
 * What happened on the wire. `success`: the server answered (optionally with its health).
 * `failure`: it did not, or its health says it cannot run code. `probe`: a health check starts.
 * `run`: a run on the server completed (`ok`) or failed for a reason of the server's.
 * `error`: why a health check failed, once the client has found out (it counts nothing).
 */
export type CircuitEvent =
  | { readonly type: "success"; readonly health?: HealthResponse }
  | { readonly type: "failure"; readonly health?: HealthResponse }
  | { readonly type: "probe" }
  | { readonly type: "run"; readonly ok: boolean }
  | { readonly type: "error"; readonly error: ConnectionError };

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

const UNAVAILABLE: ConnectionError = {
  kind: "unavailable",
  message: "The server cannot run code (/health: unavailable); see its log.",
};

export const initialState: ClientState = {
  status: "unknown",
  circuit: "closed",
  failures: 0,
  runFailures: 0,
  health: null,
  error: null,
};

function same(a: ClientState, b: ClientState): boolean {
  return (Object.keys(a) as (keyof ClientState)[]).every((key) => a[key] === b[key]);
}

/**
 * The state machine, as a pure function. Returns `state` itself when nothing changed, so
 * callers can compare by reference.
 *
 * Request failures and run failures are counted apart, and either opens the circuit at
 * `threshold`. Any answer clears `failures`; only a completed run clears `runFailures`, so a
 * server whose `/health` is fine while its runs fail is `degraded`, never `online`. A circuit
 * opened by run failures closes on a health probe (half-open), not on other answers. Until a
 * health body has arrived the status stays `unknown` (or `offline` once the circuit opens):
 * a server that never answered is not `degraded`, and one that answered something else may
 * not be Mecha at all.
 */
export function transition(
  state: ClientState,
  event: CircuitEvent,
  policy: Pick<CircuitPolicy, "threshold">,
): ClientState {
  if (event.type === "probe") {
    return state.circuit === "open" ? { ...state, circuit: "half_open" } : state;
  }
  if (event.type === "error") {
    return event.error === state.error ? state : { ...state, error: event.error };
  }
  const { threshold } = policy;
  let { failures, runFailures } = state;
  let answered: boolean;
  if (event.type === "run") {
    answered = event.ok;
    runFailures = answered ? 0 : runFailures + 1;
  } else {
    // A health body that says `unavailable` is the server's own word: open at once.
    const unavailable = event.health?.status === "unavailable";
    answered = event.type === "success" && !unavailable;
    if (!answered) failures = unavailable ? Math.max(failures + 1, threshold) : failures + 1;
  }
  if (answered) failures = 0;
  const body = event.type === "run" ? undefined : event.health;
  const health = body ?? state.health;
  const open = answered
    ? state.circuit === "open" && runFailures >= threshold
    : state.circuit !== "closed" || failures >= threshold || runFailures >= threshold;
  const next: ClientState = {
    status: open
      ? "offline"
      : health === null
        ? "unknown"
        : !answered || runFailures > 0 || health.status === "degraded"
          ? "degraded"
          : "online",
    circuit: open ? "open" : "closed",
    failures,
    runFailures,
    health,
    error: !body ? state.error : body.status === "unavailable" ? UNAVAILABLE : null,
  };
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
 * A 404 or 405 without a Mecha problem body: whatever answered, it is not a Mecha server
 * (a wrong `baseUrl`, a static host, a proxy's own page).
 */
export function notMecha(error: MechaError): boolean {
  return (error.status === 404 || error.status === 405) && !error.problem;
}

/**
 * The event a failed request feeds the machine: `failure` when the server did not answer
 * properly (no answer, a 5xx, an answer that is not Mecha's), `success` when it answered with
 * a deliberate refusal (a 4xx problem, 429, `busy`), and nothing for an abort or a request
 * that was never sent (the `headers` option threw), which say nothing about the server.
 */
export function circuitEventFor(error: MechaError): CircuitEvent | null {
  const { code, status } = error;
  if (code === "aborted" || (code === "http" && status === undefined)) return null;
  const failed =
    code === "network" ||
    code === "timeout" ||
    code === "invalid_response" ||
    code === "unavailable" ||
    (code === "http" && (status! >= 500 || notMecha(error)));
  return { type: failed ? "failure" : "success" };
}
