import { availableParallelism } from "node:os";
import {
  ExecuteRequest,
  type ExecuteResponse,
  type HealthResponse,
  MEDIA_TYPES,
  PROTOCOL_VERSION,
  type RunEvent,
  RunRequest,
  type RunResult,
  StdinRequest,
} from "@mecha/protocol";
import { HttpError } from "./httpError";
import { type HandlerOptions, normalizeOptions, resolveLimits } from "./options";
import { problemResponse } from "./problemResponse";
import { RateLimiter } from "./rateLimiter";
import { readJson } from "./readBody";
import { type Run, RunManager } from "./runManager";
import type { RuntimeOptions } from "./runtime/options";
import { createPythonRuntime } from "./runtime/pythonRuntime";
import type { RunJob, Runtime } from "./runtime/types";
import { VERSION } from "./version";

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

const encoder = new TextEncoder();
const utf8Length = (text: string) => encoder.encode(text).byteLength;

/** The runtime's options among a handler's: every one of them reaches the runtime. */
function runtimeOptions(options: HandlerOptions): Omit<RuntimeOptions, "logger" | "concurrency"> {
  const { python, sandbox, startup, maxProcesses, maxFileBytes, maxOpenFiles } = options;
  const { diskBytes, cgroups, uidRange, warmPool, spawn } = options;
  const picked = {
    python,
    sandbox,
    startup,
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

function newId(): string {
  return `run_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
}

function json(body: unknown, status = 200, headers = new Headers()): Response {
  headers.set("content-type", MEDIA_TYPES.json);
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * Creates the execution handler: `(request: Request) => Promise<Response>`.
 *
 * @example
 * const handler = createHandler({ basePath: "/api/mecha" });
 * export const POST = handler; // any Fetch runtime
 */
export function createHandler(options: HandlerOptions = {}): MechaHandler {
  const opts = normalizeOptions(options, availableParallelism());
  // Created now, started on first use: creating a handler starts no process.
  const runtime =
    options.runtime ??
    createPythonRuntime({
      ...runtimeOptions(options),
      logger: opts.logger,
      concurrency: opts.maxConcurrent,
    });
  const manager = new RunManager(runtime, {
    maxConcurrent: opts.maxConcurrent,
    maxQueued: opts.maxQueued,
    maxStdinBuffer: opts.maxStdinBuffer,
  });
  const limiter = opts.rateLimit
    ? new RateLimiter(opts.rateLimit.limit, opts.rateLimit.windowMs)
    : null;
  const startedAt = Date.now();

  async function health(): Promise<HealthResponse> {
    const capacity = manager.capacity;
    try {
      const info = await runtime.info();
      const saturated = capacity.queued > 0 || manager.isClosing;
      return {
        status: saturated ? "degraded" : "ok",
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        runtimes: [info],
        capacity,
        uptimeMs: Date.now() - startedAt,
      };
    } catch {
      return {
        status: "unavailable",
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        runtimes: [],
        capacity,
        uptimeMs: Date.now() - startedAt,
      };
    }
  }

  function corsHeaders(request: Request): Headers {
    const headers = new Headers();
    const origin = request.headers.get("origin");
    if (!origin || !opts.cors?.(origin)) return headers;
    headers.set("access-control-allow-origin", opts.corsAny ? "*" : origin);
    if (!opts.corsAny) headers.set("vary", "Origin");
    headers.set("access-control-expose-headers", "Retry-After");
    return headers;
  }

  function preflight(request: Request, cors: Headers): Response {
    if (cors.has("access-control-allow-origin")) {
      cors.set("access-control-allow-methods", "GET, POST, OPTIONS");
      cors.set(
        "access-control-allow-headers",
        request.headers.get("access-control-request-headers") ??
          "Content-Type, Accept, Authorization",
      );
      cors.set("access-control-max-age", "600");
    }
    cors.set("allow", "GET, POST, OPTIONS");
    return new Response(null, { status: 204, headers: cors });
  }

  async function authorize(request: Request): Promise<void> {
    if (!opts.authorize) return;
    const verdict = await opts.authorize(request);
    if (verdict === true || verdict === undefined) return;
    if (verdict === false) throw new HttpError("forbidden", "This request is not allowed.");
    throw new HttpError(
      verdict.status === 401 ? "unauthorized" : "forbidden",
      verdict.detail ??
        (verdict.status === 401 ? "Authentication required." : "This request is not allowed."),
    );
  }

  async function rateLimit(request: Request): Promise<void> {
    if (!limiter || !opts.rateLimit) return;
    const key = await opts.rateLimit.key(request);
    const wait = limiter.hit(key);
    if (wait > 0) {
      throw new HttpError("rate_limited", `Too many runs; try again in ${wait} s.`, {
        retryAfter: wait,
      });
    }
  }

  function toJob(body: RunRequest, interactive: boolean): RunJob {
    if (utf8Length(body.code) > opts.maxCodeBytes) {
      throw new HttpError(
        "payload_too_large",
        `The code is over the ${opts.maxCodeBytes}-byte limit.`,
      );
    }
    for (const file of body.files ?? []) {
      const normalized = file.path.replace(/\\/g, "/");
      if (normalized.startsWith("/") || normalized.split("/").includes("..")) {
        throw new HttpError(
          "invalid_request",
          `File path ${JSON.stringify(file.path)} must be relative and stay inside the working directory.`,
          { issues: [{ path: ["files"], message: "path escapes the working directory" }] },
        );
      }
    }
    return {
      id: newId(),
      code: body.code,
      files: body.files ?? [],
      args: body.args ?? [],
      stdin: body.stdin ?? "",
      // A streaming request keeps stdin open unless the request gave it up front.
      interactive: interactive && body.stdin === undefined,
      limits: resolveLimits(body.limits, opts.defaultLimits, opts.maxLimits),
    };
  }

  /** Cancels the run when the client goes away before it ends. */
  function cancelOnAbort(request: Request, run: Run): void {
    const signal = request.signal;
    if (!signal) return;
    const onAbort = () => run.cancel();
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      void run.done.then(() => signal.removeEventListener("abort", onAbort));
    }
  }

  function streamRun(run: Run, cors: Headers): Response {
    let unlisten = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let pending: RunEvent[] = [];
        let scheduled = false;
        const flush = () => {
          scheduled = false;
          if (pending.length === 0) return;
          // Merge neighbouring chunks of one stream: fewer lines, same bytes, same order.
          let text = "";
          let last: RunEvent | null = null;
          for (const event of pending) {
            if (
              last &&
              (event.type === "stdout" || event.type === "stderr") &&
              last.type === event.type
            ) {
              last.data += event.data;
              continue;
            }
            if (last) text += `${JSON.stringify(last)}\n`;
            last = event.type === "stdout" || event.type === "stderr" ? { ...event } : event;
          }
          if (last) text += `${JSON.stringify(last)}\n`;
          pending = [];
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            // the consumer is gone
          }
        };
        // A queued run announces itself when it leaves the queue (its wall clock starts then).
        if (run.hasStarted) {
          controller.enqueue(
            encoder.encode(`${JSON.stringify({ type: "started", id: run.job.id })}\n`),
          );
        }
        unlisten = run.listen((event) => {
          pending.push(event);
          if (event.type === "exit") {
            flush();
            try {
              controller.close();
            } catch {}
            return;
          }
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
        if (run.result) {
          controller.enqueue(
            encoder.encode(`${JSON.stringify({ type: "exit", result: run.result })}\n`),
          );
          controller.close();
        }
      },
      cancel() {
        unlisten();
        run.cancel();
      },
    });
    cors.set("content-type", MEDIA_TYPES.ndjson);
    cors.set("cache-control", "no-store");
    cors.set("x-content-type-options", "nosniff");
    // Proxies such as nginx would otherwise hold streamed lines back.
    cors.set("x-accel-buffering", "no");
    return new Response(stream, { status: 200, headers: cors });
  }

  async function postRuns(request: Request, cors: Headers): Promise<Response> {
    await rateLimit(request);
    const body = await readJson(request, RunRequest, opts.maxBodyBytes);
    const streaming = (request.headers.get("accept") ?? "").includes(MEDIA_TYPES.ndjson);
    const run = manager.submit(toJob(body, streaming));
    cancelOnAbort(request, run);
    if (streaming) return streamRun(run, cors);
    return json(await run.done, 200, cors);
  }

  function describeFailure(result: RunResult, limits: RunJob["limits"]): string {
    switch (result.status) {
      case "timed_out":
        return `${result.stderr}Execution timed out after ${limits.timeoutMs / 1000} s.`;
      case "memory_exceeded":
        return `${result.stderr}Memory limit of ${limits.memoryMb} MiB exceeded.`.trimStart();
      case "output_exceeded":
        return `${result.stderr}Output limit of ${limits.outputBytes} bytes exceeded.`.trimStart();
      case "cancelled":
        return `${result.stderr}Execution was cancelled.`.trimStart();
      default:
        return result.stderr || `Process exited with code ${result.exitCode ?? result.signal}.`;
    }
  }

  /** The original IDE's `POST /execute` contract, kept so its frontend works unchanged. */
  async function postExecute(request: Request, cors: Headers): Promise<Response> {
    const fail = (status: number, error: string, extra = new Headers(cors)) =>
      json(
        {
          success: false,
          output: "",
          error,
          execution_time: 0,
          memory_used: 0,
        } satisfies ExecuteResponse,
        status,
        extra,
      );
    try {
      await rateLimit(request);
      const body = await readJson(request, ExecuteRequest, opts.maxBodyBytes);
      const language = (body.language ?? "python").toLowerCase();
      if (language !== "python" && language !== "python3" && language !== "py") {
        return fail(
          400,
          `Unsupported language ${JSON.stringify(body.language)}; only Python runs here.`,
        );
      }
      const job = toJob({ language: "python", code: body.code }, false);
      const run = manager.submit(job);
      cancelOnAbort(request, run);
      const result = await run.done;
      const success = result.status === "succeeded";
      return json(
        {
          success,
          output: result.stdout,
          error: success ? null : describeFailure(result, job.limits),
          execution_time: Math.round(result.durationMs) / 1000,
          memory_used: result.memoryKb ?? 0,
        } satisfies ExecuteResponse,
        200,
        cors,
      );
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const problem = problemResponse(error);
      const headers = new Headers(cors);
      const retry = problem.headers.get("retry-after");
      if (retry) headers.set("retry-after", retry);
      return fail(problem.status, error.detail, headers);
    }
  }

  async function route(request: Request, path: string, cors: Headers): Promise<Response> {
    const method = request.method.toUpperCase();
    const allow = (methods: string) => {
      throw new HttpError("method_not_allowed", `Use ${methods} for ${path}.`, { allow: methods });
    };
    if (path === "/health") {
      if (method !== "GET" && method !== "HEAD") allow("GET");
      const body = await health();
      return json(body, body.status === "unavailable" ? 503 : 200, cors);
    }
    if (path === "/runs") {
      if (method !== "POST") allow("POST");
      return postRuns(request, cors);
    }
    if (path === "/execute") {
      if (method !== "POST") allow("POST");
      return postExecute(request, cors);
    }
    const match = /^\/runs\/([^/]+)\/(stdin|cancel)$/.exec(path);
    if (match) {
      if (method !== "POST") allow("POST");
      const id = decodeURIComponent(match[1]!);
      if (match[2] === "stdin") {
        const body = await readJson(request, StdinRequest, opts.maxBodyBytes);
        manager.get(id).writeStdin(body.data, body.eof ?? false);
        return new Response(null, { status: 204, headers: cors });
      }
      const run = manager.get(id);
      if (!run.cancel()) throw new HttpError("run_finished", `Run ${id} has already finished.`);
      return json({ id, status: "cancelling" }, 202, cors);
    }
    throw new HttpError("not_found", `No route for ${method} ${path}.`);
  }

  const handler = (async (request: Request): Promise<Response> => {
    const cors = corsHeaders(request);
    try {
      const url = new URL(request.url);
      let path = url.pathname;
      if (opts.basePath) {
        if (path !== opts.basePath && !path.startsWith(`${opts.basePath}/`)) {
          throw new HttpError(
            "not_found",
            `No route for ${path}; this handler serves ${opts.basePath}.`,
          );
        }
        path = path.slice(opts.basePath.length) || "/";
      }
      path = path.replace(/\/+$/, "") || "/";
      if (request.method.toUpperCase() === "OPTIONS") return preflight(request, cors);
      await authorize(request);
      return await route(request, path, cors);
    } catch (error) {
      if (!(error instanceof HttpError)) {
        opts.logger.error("Mecha: request failed", error);
      }
      return problemResponse(error, cors);
    }
  }) as MechaHandler;

  handler.close = () => manager.close();
  handler.health = health;
  handler.ready = async () => {
    await ("ready" in runtime && typeof runtime.ready === "function"
      ? (runtime.ready as () => Promise<void>)()
      : runtime.info());
  };
  Object.defineProperty(handler, "runtime", { value: runtime });
  return handler;
}
