import type { Backend } from "./backend";
import type { CircuitPolicy } from "./circuit";
import type { MechaError } from "./errors/MechaError";
import type { MockResponder } from "./mockBackend";
import type { FallbackKind } from "./planBackends";
import type { RetryPolicy } from "./retry";
import type { FetchFunction, HeadersOption } from "./serverBackend";
import { defaultTimers, type Timers } from "./timers";

export interface RetryOptions {
  /**
   * Retries after the first attempt. Runs and `sendStdin` are retried only where the server
   * cannot have acted on them: no response at all (connection refused or reset), 429, and 503
   * `busy`. Health checks, `cancel`, `runtimes()`, `getRun()` and reading a session's files are
   * also retried after a timeout and a 502, 503 or 504 — and so is a run when the server lists
   * `resume` in its health `features`: it honours the run's `Idempotency-Key`, so a repeat is
   * the same run. Also the most reopenings in a row of a broken run stream that bring nothing new.
   * @default 2
   */
  limit?: number;
  /**
   * The backoff step before the first retry, in milliseconds, doubled for each further retry
   * and capped at `maxMs`. Each wait is a random point between half the step and all of it. A
   * `Retry-After` from the server (header, or the problem's `retryAfter`) is waited instead.
   * @default 300
   */
  baseMs?: number;
  /**
   * Longest wait between attempts: the cap on the backoff step. A `Retry-After` longer than this
   * is not waited for: the request fails at once with `retryAfterMs` set.
   * @default 10000
   */
  maxMs?: number;
}

export interface HealthOptions {
  /**
   * Milliseconds between health checks while the server is healthy.
   * @default 10000
   */
  intervalMs?: number;
  /**
   * Delay before re-checking after a failure; doubles per failed probe while offline.
   * @default 2000
   */
  offlineMinMs?: number;
  /**
   * Longest delay between probes while offline.
   * @default 30000
   */
  offlineMaxMs?: number;
  /**
   * Check health at once when a request to a healthy server fails.
   * @default true
   */
  checkOnFailure?: boolean;
  /**
   * Consecutive failed requests, or consecutive runs the server failed to run, that open the
   * circuit (status `offline`).
   * @default 3
   */
  failureThreshold?: number;
}

/** Where runs go when the server cannot take them. */
export type FallbackOption = "none" | FallbackKind | readonly FallbackKind[];

/** An in-browser backend, or a function that loads one the first time it is needed. */
export type BrowserBackendOption = Backend | (() => Backend | Promise<Backend>);

export interface ClientOptions {
  /**
   * Where the Mecha handler is mounted: an absolute URL, or a path on the page's origin.
   * @example "http://localhost:8000"
   * @example "/api/mecha"
   */
  baseUrl: string;
  /**
   * The `fetch` to send requests with (a framework's, or a test double).
   * @default globalThis.fetch
   */
  fetch?: FetchFunction;
  /**
   * Headers for every request, or an (async) function returning them, called per request.
   * If the function throws (or rejects), the request is not sent: the call rejects with an
   * `HttpError` with no `status` and the function's error as `cause`, and no fallback runs.
   * @default {}
   * @example { headers: async () => ({ authorization: `Bearer ${await getToken()}` }) }
   */
  headers?: HeadersOption;
  /**
   * Milliseconds a health check, `sendStdin` or `cancel` waits for an answer, and a run waits
   * for its response headers (sent at once, even while the run is queued). A run's output is
   * not cut by it: a run that has `started` has its time limit plus `runTimeoutMarginMs`.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * The time limit assumed for a run whose request sets no `limits.timeoutMs`, against a server
   * that does not say the run's limits in its `started` event (an older one).
   * @default 60000
   */
  defaultRunTimeoutMs?: number;
  /**
   * Extra milliseconds, beyond its time limit counted from `started`, that a run may take
   * before the client gives up on it with a `timeout` error (and cancels it). Time spent
   * queued on the server, before `started`, does not count.
   * @default 10000
   */
  runTimeoutMarginMs?: number;
  /**
   * When and how often a failed request is sent again (see {@link RetryOptions}).
   * @default { limit: 2, baseMs: 300, maxMs: 10000 }
   */
  retry?: RetryOptions;
  /**
   * Health polling and the circuit breaker.
   * @default { intervalMs: 10000, offlineMinMs: 2000, offlineMaxMs: 30000, checkOnFailure: true, failureThreshold: 3 }
   */
  health?: HealthOptions;
  /**
   * What runs the code when the server cannot: `"none"` (the server is always tried and a
   * failure rejects), `"mock"` (labelled simulated output), `"browser"` (real Python via the
   * `browser` backend), or a list tried in order. A program the server may already have run
   * (it sent events, or a gateway answered 502/504) is never run again in the browser; the
   * mock, which runs nothing, may still answer. `client.fallbacks` lists the ones available.
   * @default "none"
   */
  fallback?: FallbackOption;
  /**
   * The backend behind `fallback: "browser"`, e.g. a Pyodide worker. A function is called the
   * first time a run falls back to it. Without it, `"browser"` is skipped with an
   * `unavailable` warning.
   * @default undefined
   */
  browser?: BrowserBackendOption;
  /**
   * Produces the mock backend's simulated output. The client still labels every mock result
   * `backend: "mock"` and starts its stdout with a notice that it is simulated.
   * @default echoLiteralPrints
   */
  mock?: MockResponder;
  /**
   * Receives configuration problems found at run time (e.g. `"browser"` without a backend, or
   * a health check refused with 401/403), once per message.
   * @default (warning) => console.warn(warning.message)
   */
  onWarning?: (warning: MechaError) => void;
  /**
   * Timer functions for backoff, polling and run watchdogs.
   * @default globalThis.setTimeout / globalThis.clearTimeout
   */
  timers?: Timers;
  /**
   * The clock, for `Retry-After` dates.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Random numbers in [0, 1) for backoff jitter.
   * @default Math.random
   */
  random?: () => number;
}

export interface ResolvedOptions {
  baseUrl: string;
  fetch?: FetchFunction | undefined;
  headers?: HeadersOption | undefined;
  timeoutMs: number;
  defaultRunTimeoutMs: number;
  runTimeoutMarginMs: number;
  retry: RetryPolicy;
  circuit: CircuitPolicy;
  checkOnFailure: boolean;
  fallbacks: readonly FallbackKind[];
  browser?: BrowserBackendOption | undefined;
  mock?: MockResponder | undefined;
  onWarning: (warning: MechaError) => void;
  timers: Timers;
  now: () => number;
  random: () => number;
}

/** Defaults of the numeric options, by the name each has in `ClientOptions`. */
const DEFAULTS = { timeoutMs: 10_000, defaultRunTimeoutMs: 60_000, runTimeoutMarginMs: 10_000 };
const RETRY = { limit: 2, baseMs: 300, maxMs: 10_000 };
const HEALTH = {
  failureThreshold: 3,
  intervalMs: 10_000,
  offlineMinMs: 2_000,
  offlineMaxMs: 30_000,
};

/** `given`'s numbers, each checked, with `defaults` for those it leaves out. */
function numbers<T extends Record<string, number>>(
  given: Partial<T> | undefined,
  defaults: T,
  prefix = "",
): T {
  const result: Record<string, number> = {};
  for (const [name, fallback] of Object.entries(defaults)) {
    const value = given?.[name] === undefined ? fallback : given[name];
    if (typeof value !== "number" || !(value >= 0) || value === Number.POSITIVE_INFINITY) {
      throw new TypeError(
        `createClient: ${prefix}${name} must be a non-negative number, got ${value}.`,
      );
    }
    result[name] = value;
  }
  return result as T;
}

function fallbacks(option: FallbackOption | undefined): readonly FallbackKind[] {
  const list =
    option === undefined || option === "none" ? [] : Array.isArray(option) ? option : [option];
  for (const kind of list as unknown[]) {
    if (kind !== "mock" && kind !== "browser") {
      throw new TypeError(
        `createClient: fallback must be "none", "mock", "browser" or a list, got ${JSON.stringify(option)}.`,
      );
    }
  }
  return list as readonly FallbackKind[];
}

/** Every option with its default applied, checked once. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options?.baseUrl !== "string") {
    throw new TypeError('createClient needs a baseUrl, e.g. "/api/mecha".');
  }
  const health = numbers(options.health, HEALTH, "health.");
  return {
    ...options,
    ...numbers(options, DEFAULTS),
    retry: numbers(options.retry, RETRY, "retry."),
    circuit: { ...health, threshold: Math.max(1, health.failureThreshold) },
    checkOnFailure: options.health?.checkOnFailure ?? true,
    fallbacks: fallbacks(options.fallback),
    onWarning: options.onWarning ?? ((warning) => console.warn(warning.message)),
    timers: options.timers ?? defaultTimers,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
}
