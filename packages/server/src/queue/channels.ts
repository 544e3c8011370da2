import type { Redis } from "ioredis";
import { HttpError } from "../httpError";

type Handler = (message: string) => void;

/**
 * One subscriber connection shared by everything in this process that listens: each channel is
 * subscribed while someone listens to it. ioredis subscribes again after a reconnect; what was
 * published meanwhile is lost, so listeners also read what they missed (see `followEvents`).
 */
export class Channels {
  private readonly channels = new Map<
    string,
    { handlers: Set<Handler>; subscribed: Promise<unknown> }
  >();

  private readonly reconnected = new Set<() => void>();

  constructor(
    private readonly redis: Redis,
    private readonly timeoutMs = 3000,
  ) {
    redis.on("message", (channel: string, message: string) => {
      const entry = this.channels.get(channel);
      if (entry) for (const handler of entry.handlers) handler(message);
    });
    let connected = false;
    redis.on("ready", () => {
      if (connected) for (const listener of this.reconnected) listener();
      connected = true;
    });
  }

  /** Calls `listener` each time the subscriber is back after losing Redis (messages were lost). */
  onReconnect(listener: () => void): () => void {
    this.reconnected.add(listener);
    return () => this.reconnected.delete(listener);
  }

  /** Listens to `channel` once subscribed; returns how to stop. 503 when Redis cannot be reached. */
  async listen(channel: string, handler: Handler): Promise<() => void> {
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { handlers: new Set(), subscribed: this.redis.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    const current = entry;
    current.handlers.add(handler);
    const stop = () => {
      if (!current.handlers.delete(handler) || current.handlers.size > 0) return;
      if (this.channels.get(channel) === current) {
        this.channels.delete(channel);
        this.redis.unsubscribe(channel).catch(() => {});
      }
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        current.subscribed,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("subscribing timed out")), this.timeoutMs);
        }),
      ]);
    } catch (cause) {
      stop();
      throw new HttpError(
        "unavailable",
        `Redis cannot be reached (${(cause as Error).message}); try again shortly.`,
        { retryAfter: 2 },
      );
    } finally {
      clearTimeout(timer);
    }
    return stop;
  }
}
