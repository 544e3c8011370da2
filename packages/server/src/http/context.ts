import type { Metrics } from "../metrics";
import type { NormalizedOptions } from "../options";
import type { RequestLimiter } from "../rateLimiter";
import type { RunRegistry } from "../runs/runRegistry";
import type { Runtime } from "../runtime/types";
import type { SessionManager } from "../sessions/sessionManager";

/** What every route of a handler shares. */
export interface HandlerContext {
  opts: NormalizedOptions;
  runtime: Runtime;
  /** The runs this handler answers for: in this process, or on runners over Redis. */
  runs: RunRegistry;
  limiter: RequestLimiter | null;
  /** Sessions, where this handler has them (not with a queue). */
  sessions: SessionManager | null;
  metrics: Metrics | null;
  startedAt: number;
}

/** One request as the routes see it: its CORS headers and the principal it acts for. */
export interface RequestScope {
  request: Request;
  cors: Headers;
  principal: string | undefined;
}
