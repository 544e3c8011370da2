import type { MechaError } from "./errors/MechaError";

/** How often and how patiently a request is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly limit: number;
  /** The backoff step before the first retry, doubled for each further one (with jitter). */
  readonly baseMs: number;
  /** The cap on the backoff step; a longer `Retry-After` is not waited for. */
  readonly maxMs: number;
}

/**
 * Whether a request may be sent again. `"unsafe"` ones (a run, stdin) must not happen twice, so
 * they are retried only where the server cannot have acted; `"idempotent"` ones (health,
 * cancel) may also be retried after a timeout or a gateway error.
 */
export type RequestSafety = "unsafe" | "idempotent";

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so retries
 * spread out but never collapse to zero.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return step / 2 + (random() * step) / 2;
}

/**
 * The one retry decision: the delay before sending again after `attempt` attempts failed with
 * `error`, or `null` to give up (after `policy.limit` retries, or on a failure it does not
 * retry). Every request is retried where it cannot have executed: no response at all
 * (`network`), 429 and 503 `busy`; `"idempotent"` ones also after a timeout and a 502, 503 or
 * 504. A 502/504 on `POST /runs` is never retried: a proxy may have let the run through. The
 * delay is the server's `Retry-After` when it sent one (giving up if it exceeds `maxMs`), else
 * {@link backoffDelay}.
 */
export function retryDelay(
  error: MechaError,
  attempt: number,
  policy: RetryPolicy,
  safety: RequestSafety,
  random: () => number,
): number | null {
  if (attempt > policy.limit) return null;
  const { code, status } = error;
  const retriable =
    code === "network" ||
    code === "rate_limited" ||
    code === "busy" ||
    (safety === "idempotent" &&
      (code === "timeout" || status === 502 || status === 503 || status === 504));
  if (!retriable) return null;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= policy.maxMs ? error.retryAfterMs : null;
  }
  return backoffDelay(attempt, policy, random);
}

/** Parses `Retry-After` (delay in seconds, or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value?.trim()) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
