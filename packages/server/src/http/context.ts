import type { McpEndpoint } from "../mcp/mcpEndpoint";
import type { Metrics } from "../metrics";
import type { NormalizedOptions } from "../options";
import type { RequestLimiter } from "../rateLimiter";
import type { RunRegistry } from "../runs/runRegistry";
import type { Runtime } from "../runtime/types";
import type { SessionRegistry } from "../sessions/sessionRegistry";

/** What every route of a handler shares. */
export interface HandlerContext {
  opts: NormalizedOptions;
  runtime: Runtime;
  /** The runs this handler answers for: in this process, or on runners over Redis. */
  runs: RunRegistry;
  limiter: RequestLimiter | null;
  /** Sessions: in this process, or on runners over Redis; null on a runner (it takes no requests). */
  sessions: SessionRegistry | null;
  metrics: Metrics | null;
  /** `/mcp`, when the `mcp` option is on: loaded on its first request (the SDK with it). */
  mcp: (() => Promise<McpEndpoint>) | null;
  startedAt: number;
}

/** One request as the routes see it: its CORS headers and the principal it acts for. */
export interface RequestScope {
  request: Request;
  cors: Headers;
  principal: string | undefined;
}
