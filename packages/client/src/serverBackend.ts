import { HealthResponse, LenientProblem, MEDIA_TYPES } from "@mecha/protocol/responses";
import type { Backend, BackendRun, BackendStartOptions } from "./backend";
import { type CircuitEvent, circuitEventFor } from "./circuit";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { isMechaError } from "./errors/isMechaError";
import type { MechaError, MechaRequest, MechaResponse } from "./errors/MechaError";
import { messageOf } from "./errors/messageOf";
import { NetworkError } from "./errors/NetworkError";
import { RateLimitedError } from "./errors/RateLimitedError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";
import { linkSignal } from "./linkSignal";
import { parseJson } from "./ndjson";
import { unexpected } from "./readJson";
import type { ResolvedOptions } from "./resolveOptions";
import { parseRetryAfter, type RequestSafety, retryDelay } from "./retry";
import { createServerCalls, type ServerCalls } from "./serverCalls";
import { type RunBody, type ServerRunContext, startServerRun } from "./serverRun";
import { sleep } from "./timers";

/** A `fetch`-compatible function. */
export type FetchFunction = (
  input: Request | URL | string,
  init?: RequestInit,
) => Promise<Response>;

/** Headers sent with every request, or a function that returns them (e.g. a fresh token). */
export type HeadersOption = HeadersInit | (() => HeadersInit | Promise<HeadersInit>);

export interface ServerBackendOptions
  extends Pick<
    ResolvedOptions,
    | "baseUrl"
    | "fetch"
    | "headers"
    | "timeoutMs"
    | "defaultRunTimeoutMs"
    | "runTimeoutMarginMs"
    | "retry"
    | "timers"
    | "now"
    | "random"
  > {
  /** Feeds what happened on the wire into the client's state machine. */
  report: (event: CircuitEvent) => void;
  /** The `features` of the server's last health body, if any. */
  features?: () => readonly string[] | undefined;
}

/** The Mecha server as a backend, plus its health check and its other answers. */
export interface ServerBackend extends ServerCalls, ServerRunContext {
  start: Backend["start"];
  /** A streamed run at `path`: `runs`, or a session's `sessions/{id}/runs`. */
  startRun(path: string, body: RunBody, options: BackendStartOptions): BackendRun;
  health(signal?: AbortSignal): Promise<HealthResponse>;
  answersWithoutCors(signal?: AbortSignal): Promise<boolean>;
}

export interface Attempt {
  request: MechaRequest;
  attempts: number;
  response: MechaResponse;
}

export interface Call<T> {
  method: "GET" | "POST" | "DELETE";
  path: string;
  json?: unknown;
  /** The rest of the request's `fetch` options. */
  init?: RequestInit;
  /** Headers of this request, beside the `headers` option's. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** @default "application/json" */
  accept?: string;
  /** @default "unsafe" for a POST, "idempotent" for a GET or a DELETE */
  safety?: RequestSafety;
  /** @default true */
  retries?: boolean;
  signal?: AbortSignal | undefined;
  /** The error to use when `signal` aborted for a reason of the caller's own. */
  abortReason?: () => MechaError | undefined;
  /** Reads the response inside the attempt (so within its timeout); throws to fail it. */
  read: (response: Response, attempt: Attempt) => Promise<T>;
  /** What a failed attempt tells the state machine. */
  event?: (error: MechaError) => CircuitEvent | null;
}

/**
 * The Mecha server over protocol v1: runs stream as NDJSON, stdin and cancel are control
 * calls, and every answer is validated against `@mecha/protocol`. Retries follow `retryDelay`;
 * every outcome is reported to the client's state machine.
 */
export function createServerBackend(options: ServerBackendOptions): ServerBackend {
  const { timers, report } = options;
  // Looked up per request, so a fetch patched after createClient (by a test server) is used.
  const fetchOnce = (url: string, init: RequestInit) =>
    options.fetch ? options.fetch(url, init) : globalThis.fetch(url, init);
  const base = options.baseUrl.replace(/\/+$/, "");

  function errorFrom(response: Response, text: string, attempt: Attempt): MechaError {
    const parsed = LenientProblem.safeParse(parseJson(text));
    const problem = parsed.success ? parsed.data : undefined;
    const { status } = attempt.response;
    const retryAfterMs =
      parseRetryAfter(response.headers.get("retry-after"), options.now()) ??
      (problem?.retryAfter === undefined ? undefined : problem.retryAfter * 1000);
    const details = { ...attempt, problem, retryAfterMs };
    const message = `${attempt.request.url} answered ${status}${
      problem ? `: ${problem.title}. ${problem.detail}` : ""
    }`;
    const code = status === 503 && problem?.code;
    return new (
      status === 429
        ? RateLimitedError
        : code === "busy"
          ? BusyError
          : code === "unavailable"
            ? UnavailableError
            : HttpError
    )(message, details);
  }

  async function fail(response: Response, attempt: Attempt): Promise<never> {
    throw errorFrom(response, await response.text().catch(() => ""), attempt);
  }

  async function send<T>(call: Call<T>): Promise<T> {
    const request: MechaRequest = { method: call.method, url: `${base}/${call.path}` };
    const { url } = request;
    for (let attempts = 1; ; attempts++) {
      // A failing `headers` function is the host's error: typed, never retried, not the
      // server's fault (no circuit event) and no reason to fall back.
      let headers: Headers;
      try {
        headers = new Headers(
          typeof options.headers === "function" ? await options.headers() : options.headers,
        );
      } catch (cause) {
        throw new HttpError(
          `${url} was not sent: the headers option threw (${messageOf(cause)}).`,
          {
            request,
            attempts,
            cause,
          },
        );
      }
      for (const [name, value] of Object.entries(call.headers ?? {})) headers.set(name, value);
      headers.set("accept", call.accept ?? MEDIA_TYPES.json);
      if (call.json !== undefined) headers.set("content-type", MEDIA_TYPES.json);
      const controller = new AbortController();
      const unlink = linkSignal(call.signal, controller);
      let timedOut = false;
      // Per attempt, a limit on the answer: the whole of a health or control call, only the
      // response headers of a run (whose body then lasts as long as the run).
      const timer = timers.setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      let error: MechaError;
      try {
        const response = await fetchOnce(url, {
          method: call.method,
          headers,
          body: call.json === undefined ? null : JSON.stringify(call.json),
          signal: controller.signal,
          ...call.init,
        });
        return await call.read(response, {
          request,
          attempts,
          response: { status: response.status, headers: Object.fromEntries(response.headers) },
        });
      } catch (cause) {
        const details = { request, attempts, cause };
        error = call.signal?.aborted
          ? (call.abortReason?.() ??
            new AbortedError(`${url} was aborted.`, { ...details, cause: call.signal.reason }))
          : isMechaError(cause)
            ? cause
            : timedOut
              ? new TimeoutError(`No answer from ${url} in ${options.timeoutMs} ms.`, details)
              : new NetworkError(`Could not reach ${url} (${messageOf(cause)}).`, details);
      } finally {
        timers.clearTimeout(timer);
        unlink();
      }
      const event = (call.event ?? circuitEventFor)(error);
      if (event) report(event);
      const safety = call.safety ?? (call.method === "POST" ? "unsafe" : "idempotent");
      const delay =
        call.retries === false
          ? null
          : retryDelay(error, attempts, options.retry, safety, options.random);
      if (delay === null) throw error;
      await sleep(delay, timers, call.signal).catch((cause) => {
        throw call.abortReason?.() ?? cause;
      });
    }
  }

  /** A control call (stdin, cancel): any 2xx is success. */
  function control(id: string, action: "stdin" | "cancel", json?: unknown): Promise<void> {
    return send({
      method: "POST",
      path: `runs/${encodeURIComponent(id)}/${action}`,
      json,
      safety: action === "cancel" ? "idempotent" : "unsafe",
      read: async (response, attempt) => {
        if (!response.ok) await fail(response, attempt);
        report({ type: "success" });
      },
    });
  }

  function health(signal?: AbortSignal): Promise<HealthResponse> {
    return send({
      method: "GET",
      path: "health",
      retries: false,
      signal,
      // Only a health body answers a health check. 401/403 still say a server is there.
      event: (error) => {
        const event = circuitEventFor(error);
        return (
          event && (error.status === 401 || error.status === 403 ? event : { type: "failure" })
        );
      },
      read: async (response, attempt) => {
        const text = await response.text();
        // 503 carries a health body when the server is up but cannot run code.
        if (response.ok || response.status === 503) {
          const parsed = HealthResponse.safeParse(parseJson(text));
          if (parsed.success) {
            report({ type: "success", health: parsed.data });
            return parsed.data;
          }
          if (response.ok) throw unexpected(attempt, "health body", parsed.error);
        }
        throw errorFrom(response, text, attempt);
      },
    });
  }

  /**
   * Whether anything answers `GET /health` when the browser need not let the page read the
   * answer (`mode: "no-cors"`): if so, a health check that failed was refused by the browser
   * (CORS) rather than never answered. False also where the page's own policy blocks it (a
   * cross-origin isolated page needs the server's consent even for that).
   */
  const answersWithoutCors = (signal?: AbortSignal) =>
    send({
      method: "GET",
      path: "health",
      init: { mode: "no-cors", credentials: "omit", cache: "no-store" },
      retries: false,
      signal,
      // It tells the state machine nothing: the check it follows has.
      event: () => null,
      read: async () => true,
    }).catch(() => false);

  const context: ServerRunContext = { options, send, fail, control };
  const startRun: ServerBackend["startRun"] = (path, body, startOptions) =>
    startServerRun(context, path, body, startOptions);

  return {
    ...context,
    ...createServerCalls(context),
    start: (request, startOptions) => startRun("runs", request, startOptions),
    startRun,
    health,
    answersWithoutCors,
  };
}
