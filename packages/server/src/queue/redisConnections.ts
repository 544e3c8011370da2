import { Redis, type RedisOptions } from "ioredis";
import { HttpError } from "../httpError";
import type { Logger } from "../runtime/types";
import { Channels } from "./channels";
import { type Keys, keysFor } from "./keys";
import type { NormalizedQueueOptions } from "./queueOptions";
import { type ScriptedRedis, withScripts } from "./scripts";

/** Reconnects within 100 ms at first, then every second: Redis back means Mecha back at once. */
const retryStrategy = (times: number) => Math.min(100 * times, 1000);

/**
 * Options for a connection that never waits for Redis: a command while it is down fails at
 * once (a request gets 503 rather than hanging), and one cut by a lost connection is not sent
 * again (it may have run).
 */
export const FAIL_FAST: RedisOptions = {
  retryStrategy,
  connectTimeout: 3000,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 5000,
};

/** Options for a connection BullMQ blocks on (it must retry forever; BullMQ requires it). */
export const BLOCKING: RedisOptions = {
  retryStrategy,
  connectTimeout: 3000,
  maxRetriesPerRequest: null,
};

/**
 * A process's connections to Redis: one for commands and scripts, one subscriber. Opened by
 * `open()`; `reachable` says whether both are up now.
 */
export class RedisConnections {
  readonly keys: Keys;
  readonly command: ScriptedRedis;
  readonly channels: Channels;
  private readonly subscriber: Redis;
  private lastError = "";
  private wasReady = false;

  constructor(
    readonly opts: NormalizedQueueOptions,
    private readonly logger: Logger,
    name: string,
  ) {
    this.keys = keysFor(opts.prefix);
    const redis = new Redis(opts.redis, { ...FAIL_FAST, lazyConnect: true, connectionName: name });
    this.command = withScripts(redis);
    this.subscriber = new Redis(opts.redis, {
      retryStrategy,
      connectTimeout: 3000,
      lazyConnect: true,
      connectionName: `${name}:sub`,
    });
    this.channels = new Channels(this.subscriber);
    for (const connection of [redis, this.subscriber]) {
      connection.on("error", (error: Error) => {
        if (error.message === this.lastError) return;
        this.lastError = error.message;
        if (this.wasReady)
          this.logger.warn("mecha: Redis connection failed", { error: error.message });
      });
    }
    redis.on("ready", () => {
      if (this.wasReady && this.lastError) this.logger.info("mecha: Redis reachable again");
      this.wasReady = true;
      this.lastError = "";
    });
  }

  /** Both connections up now. */
  get reachable(): boolean {
    return this.command.redis.status === "ready" && this.subscriber.status === "ready";
  }

  /** 503 `unavailable` when Redis cannot be reached now (never waits for it). */
  assertReachable(): void {
    if (!this.reachable) {
      throw new HttpError(
        "unavailable",
        `Redis cannot be reached${this.lastError ? ` (${this.lastError})` : ""}; try again shortly.`,
        { retryAfter: 2 },
      );
    }
  }

  /** Connects; rejects after `timeoutMs` saying why when Redis cannot be reached. */
  async open(timeoutMs = 10_000): Promise<void> {
    const connect = (redis: Redis) => {
      // A failed first attempt is retried by ioredis itself (retryStrategy) until the timeout.
      if (redis.status === "wait") redis.connect().catch(() => {});
      return this.whenReady(redis);
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([connect(this.command.redis), connect(this.subscriber)]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
          timer.unref?.();
        }),
      ]);
    } catch (cause) {
      throw new Error(
        `cannot reach Redis at ${redactUrl(this.opts.redis)}: ${this.lastError || (cause as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private whenReady(redis: Redis): Promise<void> {
    if (redis.status === "ready") return Promise.resolve();
    return new Promise((resolve) => redis.once("ready", () => resolve()));
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.command.redis, this.subscriber].map(async (redis) => {
        if (redis.status !== "ready") {
          // Connecting or reconnecting: a QUIT would wait for a Redis that may never come.
          redis.disconnect();
          return;
        }
        await redis.quit().catch(() => redis.disconnect());
      }),
    );
  }
}

/** A Redis URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
