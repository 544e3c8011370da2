import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RequestLimiter } from "../rateLimiter";
import { unreachable } from "./remoteRun";

/**
 * The `rateLimit` option counted in Redis, so every API instance shares each key's count
 * (rate-limiter-flexible's fixed window, whole seconds). Redis out of reach is 503, not a pass.
 */
export class SharedRateLimiter implements RequestLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, limit: number, windowMs: number) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:rate`,
      points: limit,
      duration: Math.max(1, Math.ceil(windowMs / 1000)),
      rejectIfRedisNotReady: true,
    });
  }

  async hit(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes)
        return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      throw unreachable(outcome);
    }
  }
}
