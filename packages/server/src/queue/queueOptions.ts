/** What a process does when runs are distributed over Redis. */
export type Role = "api" | "runner" | "both";

/**
 * Runs distributed over Redis (`createHandler({ queue })`, `mecha-server --redis`): API
 * instances validate, authorise, rate-limit and enqueue; runners execute. Without it everything
 * stays in this process.
 */
export interface QueueOptions {
  /**
   * The Redis server, as a URL: `redis://[user:password@]host:port[/db]`, `rediss://` for TLS.
   * It must keep keys (`maxmemory-policy noeviction`), as BullMQ requires.
   */
  redis: string;
  /**
   * `api` takes requests and enqueues runs, `runner` executes them, `both` does both.
   * @default "both"
   */
  role?: Role;
  /**
   * Prefix of every key and channel, so several deployments can share one Redis.
   * @default "mecha"
   */
  prefix?: string;
  /**
   * How long a run may wait for a runner to take it; past it, the request gets 503 `busy` with
   * `Retry-After` and the run is dropped (nothing was sent, nothing ran).
   * @default 10000
   */
  queueTimeoutMs?: number;
  /**
   * How often a runner says it is alive.
   * @default 1000
   */
  heartbeatMs?: number;
  /**
   * A runner not heard from for this long is gone: its runs end `lost` (never run again).
   * @default 5000
   */
  lostAfterMs?: number;
  /**
   * Events kept in each run's stream; the oldest are trimmed first (then `?after=` older than
   * what is kept gets 410 `events_expired`). A runner merges output written close together
   * into one event, so this is rarely reached.
   * @default 10000
   */
  maxEvents?: number;
}

export interface NormalizedQueueOptions {
  redis: string;
  role: Role;
  prefix: string;
  queueTimeoutMs: number;
  heartbeatMs: number;
  lostAfterMs: number;
  maxEvents: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Mecha: option ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** The queue options with every default applied; throws a `TypeError` saying what is wrong. */
export function normalizeQueueOptions(options: QueueOptions): NormalizedQueueOptions {
  if (typeof options.redis !== "string" || !/^rediss?:\/\//.test(options.redis)) {
    throw new TypeError(
      `Mecha: queue.redis must be a redis:// or rediss:// URL, got ${JSON.stringify(options.redis)}`,
    );
  }
  const role = options.role ?? "both";
  if (role !== "api" && role !== "runner" && role !== "both") {
    throw new TypeError(
      `Mecha: queue.role must be "api", "runner" or "both", got ${JSON.stringify(role)}`,
    );
  }
  const prefix = options.prefix ?? "mecha";
  if (!/^[\w.-]+$/.test(prefix)) {
    throw new TypeError(
      `Mecha: queue.prefix may hold letters, digits, "_", "." and "-", got ${JSON.stringify(prefix)}`,
    );
  }
  const heartbeatMs = positive("queue.heartbeatMs", options.heartbeatMs, 1000);
  const lostAfterMs = positive("queue.lostAfterMs", options.lostAfterMs, 5000);
  if (lostAfterMs < 2 * heartbeatMs) {
    throw new TypeError(
      `Mecha: queue.lostAfterMs (${lostAfterMs}) must be at least twice queue.heartbeatMs (${heartbeatMs}), or a runner that is only slow would be declared gone`,
    );
  }
  return {
    redis: options.redis,
    role,
    prefix,
    queueTimeoutMs: positive("queue.queueTimeoutMs", options.queueTimeoutMs, 10_000),
    heartbeatMs,
    lostAfterMs,
    maxEvents: Math.floor(positive("queue.maxEvents", options.maxEvents, 10_000)),
  };
}
