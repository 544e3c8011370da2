import type { QueueOptions } from "./queue/queueOptions";
import type { RuntimeOptions } from "./runtime/options";
import type { Limits, Logger, Runtime } from "./runtime/types";

export type { Limits, Logger };

export interface RateLimitOptions {
  /**
   * Requests allowed per key in each window.
   * @default 60
   */
  limit?: number;
  /**
   * Window length in milliseconds.
   * @default 60000
   */
  windowMs?: number;
  /**
   * The key a request is counted under (an API key, a user id, an IP address the host trusts).
   * @default () => "global"
   */
  key?: (request: Request) => string | Promise<string>;
}

/**
 * What `authorize` may return: `true` (or nothing) to allow, `false` for 403, a status and
 * message to refuse, or a principal — a string (a user, a tenant, an API key) — to allow the
 * request as that principal: runs and sessions then belong to it, and another principal gets 404
 * for their ids.
 */
export type AuthorizeResult =
  | boolean
  | string
  | { principal: string }
  | { status: 401 | 403; detail?: string }
  | undefined;

/** Options of `createHandler`: the HTTP layer's own, and every option of the Python runtime. */
export interface HandlerOptions extends Omit<RuntimeOptions, "logger" | "concurrency"> {
  /**
   * A prefix stripped from request paths, e.g. `"/api/mecha"` when the handler sees full URLs.
   * @default ""
   */
  basePath?: string;
  /**
   * The runtime that runs programs. Defaults to the Python runtime built from this object's
   * runtime options (`python`, `sandbox`, `startup`, `maxProcesses`, …), started on first use.
   */
  runtime?: Runtime;
  /**
   * Limits applied when a request names none.
   * @default { timeoutMs: 10000, memoryMb: 256, outputBytes: 1048576 }
   */
  defaultLimits?: Partial<Limits>;
  /**
   * The highest limits a request may ask for; larger requests are clamped.
   * @default { timeoutMs: 60000, memoryMb: 1024, outputBytes: 10485760 }
   */
  maxLimits?: Partial<Limits>;
  /**
   * Largest accepted `code` in bytes (UTF-8).
   * @default 262144
   */
  maxCodeBytes?: number;
  /**
   * Largest accepted request body in bytes.
   * @default 2097152
   */
  maxBodyBytes?: number;
  /**
   * Standard input a run may hold that its program has not read yet, in bytes (sent with
   * `POST /runs/{id}/stdin`, also while it waits in the queue). A write beyond it is refused
   * whole with 413 `stdin_too_large`; the program reading its input makes room again.
   * @default 2097152
   */
  maxStdinBuffer?: number;
  /**
   * Runs executing at once.
   * @default twice the CPU cores, at least 4 (a program waiting for input holds a slot)
   */
  maxConcurrent?: number;
  /**
   * Runs waiting for a slot; beyond this a request gets 503 `busy` with `Retry-After`.
   * @default 4 × maxConcurrent
   */
  maxQueued?: number;
  /**
   * Sessions open at once (`POST /sessions`: an interpreter kept between runs); beyond this a
   * request gets 503 `busy` with `Retry-After`. 0 turns sessions off.
   * @default 4 × maxConcurrent
   */
  maxSessions?: number;
  /**
   * How long a session may sit idle before it ends, in milliseconds: the default and the most a
   * client may ask for (`idleTimeoutMs`).
   * @default 600000
   */
  sessionIdleTimeoutMs?: number;
  /** Per-key request limit; beyond it a request gets 429 `rate_limited` with `Retry-After`. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Origins allowed by CORS: a list, `"*"`, or a predicate. Without it, no CORS headers are sent.
   * @default undefined
   */
  cors?: CorsOptions;
  /**
   * Called for every request before anything else: return `false` (403) or `{ status: 401 }` to
   * refuse it, or a principal (a string) to allow it as that principal (see `AuthorizeResult`).
   */
  authorize?: (request: Request) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Serve `GET /metrics` (Prometheus text: runs by status, durations, running and queued runs,
   * and the process's own figures), behind the same `authorize` as every route.
   * @default true
   */
  metrics?: boolean;
  /**
   * A client that goes away while its run goes on (a dropped stream, an abandoned JSON request)
   * may come back for it (`GET /runs/{id}/events?after=`, `GET /runs/{id}`) within this many
   * milliseconds; after it, a run nobody follows is cancelled.
   * @default 2000
   */
  resumeWindowMs?: number;
  /**
   * How long an ended run stays readable (`GET /runs/{id}`, its events, a repeated
   * `Idempotency-Key`), at least, in milliseconds.
   * @default 300000
   */
  retainMs?: number;
  /**
   * Bytes the ended runs kept readable may hold together (their events); beyond it the oldest
   * are forgotten first (then 404).
   * @default 67108864
   */
  retainBytes?: number;
  /**
   * Distribute runs over Redis: API instances enqueue, runners (any number, any machines)
   * execute (see `QueueOptions`). Without it everything runs in this process.
   * @example
   * createHandler({ queue: { redis: "redis://127.0.0.1:6379", role: "api" } })
   */
  queue?: QueueOptions;
  /**
   * Where the handler logs. `false` for silence.
   * @default console
   */
  logger?: Logger | false;
}

export type CorsOptions =
  | "*"
  | readonly (string | RegExp)[]
  | ((origin: string) => boolean)
  | { origin: "*" | readonly (string | RegExp)[] | ((origin: string) => boolean) };

export const DEFAULT_LIMITS: Limits = { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 };
export const MAX_LIMITS: Limits = { timeoutMs: 60_000, memoryMb: 1024, outputBytes: 10 << 20 };

export interface NormalizedOptions {
  basePath: string;
  defaultLimits: Limits;
  maxLimits: Limits;
  maxCodeBytes: number;
  maxBodyBytes: number;
  maxStdinBuffer: number;
  metrics: boolean;
  resumeWindowMs: number;
  retainMs: number;
  retainBytes: number;
  maxConcurrent: number;
  maxQueued: number;
  maxSessions: number;
  sessionIdleTimeoutMs: number;
  rateLimit: Required<RateLimitOptions> | null;
  cors: ((origin: string) => boolean) | null;
  corsAny: boolean;
  authorize: HandlerOptions["authorize"];
  logger: Logger;
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Mecha: option ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`Mecha: option ${name} must be 0 or more, got ${String(value)}`);
  }
  return value;
}

function limits(name: string, given: Partial<Limits> | undefined, fallback: Limits): Limits {
  return {
    timeoutMs: positive(`${name}.timeoutMs`, given?.timeoutMs, fallback.timeoutMs),
    memoryMb: positive(`${name}.memoryMb`, given?.memoryMb, fallback.memoryMb),
    outputBytes: positive(`${name}.outputBytes`, given?.outputBytes, fallback.outputBytes),
  };
}

function corsPredicate(cors: CorsOptions | undefined): {
  allow: ((origin: string) => boolean) | null;
  any: boolean;
} {
  if (cors === undefined) return { allow: null, any: false };
  const origin = typeof cors === "object" && "origin" in cors ? cors.origin : cors;
  if (origin === "*") return { allow: () => true, any: true };
  if (typeof origin === "function") return { allow: origin, any: false };
  const list = origin as readonly (string | RegExp)[];
  return {
    allow: (value) =>
      list.some((entry) => (typeof entry === "string" ? entry === value : entry.test(value))),
    any: false,
  };
}

/** Turns the host's options into the one object the handler reads, with every default applied. */
export function normalizeOptions(options: HandlerOptions, cores: number): NormalizedOptions {
  const maxLimits = limits("maxLimits", options.maxLimits, MAX_LIMITS);
  const requested = limits("defaultLimits", options.defaultLimits, DEFAULT_LIMITS);
  for (const key of ["timeoutMs", "memoryMb", "outputBytes"] as const) {
    const given = options.defaultLimits?.[key];
    if (given !== undefined && given > maxLimits[key]) {
      throw new TypeError(
        `Mecha: defaultLimits.${key} (${given}) is above maxLimits.${key} (${maxLimits[key]}); raise maxLimits.${key} too`,
      );
    }
  }
  // A built-in default above a maximum the host lowered follows it down.
  const defaultLimits: Limits = {
    timeoutMs: Math.min(requested.timeoutMs, maxLimits.timeoutMs),
    memoryMb: Math.min(requested.memoryMb, maxLimits.memoryMb),
    outputBytes: Math.min(requested.outputBytes, maxLimits.outputBytes),
  };
  const maxConcurrent = Math.floor(
    positive("maxConcurrent", options.maxConcurrent, Math.max(4, cores * 2)),
  );
  const maxQueued =
    options.maxQueued === undefined
      ? maxConcurrent * 4
      : Math.max(0, Math.floor(options.maxQueued));
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  if (basePath && !basePath.startsWith("/")) {
    throw new TypeError(`Mecha: basePath must start with "/", got ${JSON.stringify(basePath)}`);
  }
  const cors = corsPredicate(options.cors);
  const rateLimit = options.rateLimit
    ? {
        limit: positive("rateLimit.limit", options.rateLimit.limit, 60),
        windowMs: positive("rateLimit.windowMs", options.rateLimit.windowMs, 60_000),
        key: options.rateLimit.key ?? (() => "global"),
      }
    : null;
  return {
    basePath,
    defaultLimits,
    maxLimits,
    maxCodeBytes: positive("maxCodeBytes", options.maxCodeBytes, 256 * 1024),
    maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes, 2 * 1024 * 1024),
    maxStdinBuffer: positive("maxStdinBuffer", options.maxStdinBuffer, 2 * 1024 * 1024),
    metrics: options.metrics ?? true,
    resumeWindowMs: positive("resumeWindowMs", options.resumeWindowMs, 2000),
    retainMs: positive("retainMs", options.retainMs, 5 * 60_000),
    retainBytes: positive("retainBytes", options.retainBytes, 64 << 20),
    maxConcurrent,
    maxQueued,
    maxSessions: Math.floor(nonNegative("maxSessions", options.maxSessions, maxConcurrent * 4)),
    sessionIdleTimeoutMs: positive(
      "sessionIdleTimeoutMs",
      options.sessionIdleTimeoutMs,
      10 * 60_000,
    ),
    rateLimit,
    cors: cors.allow,
    corsAny: cors.any,
    authorize: options.authorize,
    logger: options.logger === false ? silent : (options.logger ?? console),
  };
}

/** A request's limits, filled from the defaults and clamped to the maxima. */
export function resolveLimits(
  requested: Partial<Limits> | undefined,
  defaults: Limits,
  max: Limits,
): Limits {
  return {
    timeoutMs: Math.min(requested?.timeoutMs ?? defaults.timeoutMs, max.timeoutMs),
    memoryMb: Math.min(requested?.memoryMb ?? defaults.memoryMb, max.memoryMb),
    outputBytes: Math.min(requested?.outputBytes ?? defaults.outputBytes, max.outputBytes),
  };
}
