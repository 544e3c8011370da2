import type { Metrics } from "../metrics";
import type { NormalizedOptions } from "../options";
import type { RateLimiter } from "../rateLimiter";
import type { RunManager } from "../runs/runManager";
import type { Runtime } from "../runtime/types";

/** What every route of a handler shares. */
export interface HandlerContext {
  opts: NormalizedOptions;
  runtime: Runtime;
  manager: RunManager;
  limiter: RateLimiter | null;
  metrics: Metrics | null;
  startedAt: number;
}

/** One request as the routes see it: its CORS headers and the principal it acts for. */
export interface RequestScope {
  request: Request;
  cors: Headers;
  principal: string | undefined;
}
