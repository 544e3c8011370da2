import { availableParallelism } from "node:os";
import type { HealthResponse, RunResult } from "@mecha/protocol";
import { authorize } from "./http/access";
import { markAnswersAsMade } from "./http/adapterRequest";
import type { HandlerContext, RequestScope } from "./http/context";
import { corsHeaders, preflight } from "./http/cors";
import { postExecute } from "./http/executeRoute";
import { getMetrics, getRuntimes, health } from "./http/infoRoutes";
import { json } from "./http/respond";
import { controlRun, getEvents, getRun, postRuns } from "./http/runRoutes";
import {
  deleteSession,
  getSession,
  getSessionFile,
  postSessionRuns,
  postSessions,
} from "./http/sessionRoutes";
import { HttpError } from "./httpError";
import type { McpEndpoint } from "./mcp/mcpEndpoint";
import { Metrics } from "./metrics";
import { type HandlerOptions, normalizeOptions } from "./options";
import { problemResponse } from "./problemResponse";
import { createCluster } from "./queue/createCluster";
import { normalizeQueueOptions } from "./queue/queueOptions";
import { RateLimiter } from "./rateLimiter";
import { RunManager } from "./runs/runManager";
import type { RuntimeOptions } from "./runtime/options";
import { createPythonRuntime } from "./runtime/pythonRuntime";
import type { Runtime } from "./runtime/types";
import { SessionManager } from "./sessions/sessionManager";
import type { SessionRegistry } from "./sessions/sessionRegistry";

/** A Fetch handler for protocol v1, mountable behind any route. */
export interface MechaHandler {
  (request: Request): Promise<Response>;
  /** Stops accepting runs, ends running programs, and waits for them. */
  close(): Promise<void>;
  /** The health body, as `GET /health` returns it. */
  health(): Promise<HealthResponse>;
  /**
   * Starts the runtime now instead of on the first request (the interpreter, the sandbox, warm
   * interpreters); rejects when no program can run here, saying why.
   */
  ready(): Promise<void>;
  /** The runtime the handler runs programs with. */
  readonly runtime: Runtime;
}

/** The runtime's options among a handler's: every one of them reaches the runtime. */
function runtimeOptions(options: HandlerOptions): Omit<RuntimeOptions, "logger" | "concurrency"> {
  const { python, sandbox, startup, preload, maxProcesses, maxFileBytes, maxOpenFiles } = options;
  const { diskBytes, cgroups, uidRange, warmPool, spawn } = options;
  const picked = {
    python,
    sandbox,
    startup,
    preload,
    maxProcesses,
    maxFileBytes,
    maxOpenFiles,
    diskBytes,
    cgroups,
    uidRange,
    warmPool,
    spawn,
  };
  return Object.fromEntries(Object.entries(picked).filter(([, value]) => value !== undefined));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref?.());

type Route = (
  context: HandlerContext,
  scope: RequestScope,
  id: string,
  rest: string,
) => Promise<Response> | Response;

/** Routes by method, for paths without an id and with one (`/runs/{id}/…`). */
/** `GET /sessions/{id}/files/{path}`: its path as given, a trailing "/" included. */
const FILE_ROUTE = /^\/sessions\/([^/]+)\/files\/(.+)$/;

const ROUTES: { path: RegExp; methods: Record<string, Route> }[] = [
  { path: /^\/health$/, methods: { GET: healthRoute, HEAD: healthRoute } },
  { path: /^\/runtimes$/, methods: { GET: getRuntimes } },
  { path: /^\/metrics$/, methods: { GET: metricsRoute } },
  { path: /^\/runs$/, methods: { POST: postRuns } },
  { path: /^\/execute$/, methods: { POST: postExecute } },
  { path: /^\/runs\/([^/]+)$/, methods: { GET: getRun } },
  { path: /^\/runs\/([^/]+)\/events$/, methods: { GET: getEvents } },
  {
    path: /^\/runs\/([^/]+)\/stdin$/,
    methods: { POST: (context, scope, id) => controlRun(context, scope, id, "stdin") },
  },
  {
    path: /^\/runs\/([^/]+)\/cancel$/,
    methods: { POST: (context, scope, id) => controlRun(context, scope, id, "cancel") },
  },
  { path: /^\/sessions$/, methods: { POST: postSessions } },
  { path: /^\/sessions\/([^/]+)$/, methods: { GET: getSession, DELETE: deleteSession } },
  { path: /^\/sessions\/([^/]+)\/runs$/, methods: { POST: postSessionRuns } },
  { path: FILE_ROUTE, methods: { GET: getSessionFile } },
  { path: /^\/mcp$/, methods: { GET: mcpRoute, POST: mcpRoute, DELETE: mcpRoute } },
];

/** A path segment (or the rest of a path) as the client meant it; 400 when it is not one. */
function decode(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? "");
  } catch {
    throw new HttpError("invalid_request", `The path has a malformed escape: ${part}`);
  }
}

async function healthRoute(
  context: HandlerContext,
  { request, cors }: RequestScope,
): Promise<Response> {
  const body = await health(context);
  return json(body, body.status === "unavailable" ? 503 : 200, cors, request);
}

async function mcpRoute(context: HandlerContext, scope: RequestScope): Promise<Response> {
  if (!context.mcp) {
    throw new HttpError(
      "not_found",
      "MCP is off on this server; start mecha-server with --mcp (or createHandler({ mcp: true })).",
    );
  }
  return (await context.mcp()).handle(scope);
}

function metricsRoute(context: HandlerContext, scope: RequestScope): Promise<Response> {
  if (!context.metrics) throw new HttpError("not_found", "Metrics are off on this server.");
  return getMetrics(context, scope);
}

/**
 * Creates the execution handler: `(request: Request) => Promise<Response>`. Creating it starts
 * nothing: the runtime starts on the first request (or `ready()`).
 *
 * @example
 * const handler = createHandler({ basePath: "/api/mecha" });
 * export const POST = handler; // any Fetch runtime
 */
export function createHandler(options: HandlerOptions = {}): MechaHandler {
  const opts = normalizeOptions(options, availableParallelism());
  const queue = options.queue ? normalizeQueueOptions(options.queue) : null;
  const localRuntime = () =>
    options.runtime ??
    createPythonRuntime({
      ...runtimeOptions(options),
      logger: opts.logger,
      concurrency: opts.maxConcurrent,
    });
  let metrics: Metrics | null = null;
  const finished = (result: RunResult) => metrics?.ended(result.status, result.durationMs);
  const cluster = queue
    ? createCluster(queue, opts, { maxQueued: options.maxQueued, runtime: localRuntime, finished })
    : null;
  const runtime = cluster?.runtime ?? localRuntime();
  const runs =
    cluster?.runs ??
    new RunManager(
      runtime,
      {
        maxConcurrent: opts.maxConcurrent,
        maxQueued: opts.maxQueued,
        maxStdinBuffer: opts.maxStdinBuffer,
        retainMs: opts.retainMs,
        retainBytes: opts.retainBytes,
      },
      { finished: (_, result) => finished(result) },
    );
  const sessions: SessionRegistry | null =
    runs instanceof RunManager
      ? new SessionManager(runtime, runs, {
          maxSessions: opts.maxSessions,
          idleTimeoutMs: opts.sessionIdleTimeoutMs,
        })
      : (cluster?.sessions ?? null);
  const capacity = () => ({ ...runs.capacity, ...sessions?.capacity });
  if (opts.metrics) metrics = new Metrics(capacity, cluster?.runners);
  const context: HandlerContext = {
    opts,
    runtime,
    runs,
    limiter: cluster
      ? cluster.limiter
      : opts.rateLimit
        ? new RateLimiter(opts.rateLimit.limit, opts.rateLimit.windowMs)
        : null,
    metrics,
    sessions,
    mcp: null,
    startedAt: Date.now(),
  };
  let mcp: Promise<McpEndpoint> | null = null;
  if (opts.mcp) {
    context.mcp = () =>
      (mcp ??= import("./mcp/mcpEndpoint").then(({ McpEndpoint }) => new McpEndpoint(context)));
  }
  const runnerOnly = queue?.role === "runner";
  /** Connecting to Redis: a request waits for it a moment, then is answered either way. */
  let starting: Promise<void> | null = null;
  let started = false;
  const start = () => {
    starting ??= cluster!.start().then(
      () => {
        started = true;
      },
      (error) => {
        starting = null;
        throw error;
      },
    );
    return starting;
  };

  async function route(request: Request, path: string, scope: RequestScope): Promise<Response> {
    const method = request.method.toUpperCase();
    if (runnerOnly && path !== "/health" && path !== "/metrics") {
      throw new HttpError(
        "not_found",
        `No route for ${method} ${path}: this mecha-server is a runner (--role runner); it serves /health and /metrics only. Send runs to an API instance.`,
      );
    }
    for (const { path: pattern, methods } of ROUTES) {
      const match = pattern.exec(path);
      if (!match) continue;
      const handle = methods[method];
      if (!handle) {
        const allow = Object.keys(methods).join(", ");
        throw new HttpError("method_not_allowed", `Use ${allow} for ${path}.`, { allow });
      }
      return handle(context, scope, decode(match[1]), decode(match[2]));
    }
    throw new HttpError("not_found", `No route for ${method} ${path}.`);
  }

  const handler = (async (request: Request): Promise<Response> => {
    const cors = corsHeaders(request, opts);
    try {
      let path = new URL(request.url).pathname;
      if (opts.basePath) {
        if (path !== opts.basePath && !path.startsWith(`${opts.basePath}/`)) {
          throw new HttpError(
            "not_found",
            `No route for ${path}; this handler serves ${opts.basePath}.`,
          );
        }
        path = path.slice(opts.basePath.length) || "/";
      }
      // A trailing "/" is forgiven on every route but a file's, where it would name a folder.
      if (!FILE_ROUTE.test(path)) path = path.replace(/\/+$/, "") || "/";
      if (request.method.toUpperCase() === "OPTIONS") return preflight(request, cors);
      const principal = await authorize(request, opts);
      if (cluster && !started) await Promise.race([start().catch(() => {}), sleep(1000)]);
      return await route(request, path, { request, cors, principal });
    } catch (error) {
      if (!(error instanceof HttpError)) opts.logger.error("Mecha: request failed", error);
      return problemResponse(error, cors);
    }
  }) as MechaHandler;

  handler.close = async () => {
    await (await mcp)?.close();
    await sessions?.closeAll();
    if (cluster) await cluster.close();
    else await runs.close();
  };
  handler.health = () => health(context);
  handler.ready = async () => {
    if (cluster) return start();
    await ("ready" in runtime && typeof runtime.ready === "function"
      ? (runtime.ready as () => Promise<void>)()
      : runtime.info());
  };
  Object.defineProperty(handler, "runtime", { value: runtime });
  markAnswersAsMade(handler);
  return handler;
}
