import { HealthResponse, LenientProblem, MEDIA_TYPES } from "@mecha/protocol/responses";
import type { Backend, BackendRun, BackendStartOptions } from "./backend";
import { type CircuitEvent, circuitEventFor } from "./circuit";
import { describeIssues } from "./describeIssues";
import { AbortedError } from "./errors/AbortedError";
import { BusyError } from "./errors/BusyError";
import { HttpError } from "./errors/HttpError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import { isMechaError } from "./errors/isMechaError";
import type { MechaError, MechaRequest, MechaResponse } from "./errors/MechaError";
import { NetworkError } from "./errors/NetworkError";
import { RateLimitedError } from "./errors/RateLimitedError";
import { TimeoutError } from "./errors/TimeoutError";
import { UnavailableError } from "./errors/UnavailableError";
import { linkSignal } from "./linkSignal";
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
  /** Headers of this request, beside the `headers` option's. */
  headers?: Readonly<Record<string, string>> | undefined;
  accept: string;
  safety: RequestSafety;
  retries: boolean;
  /**
   * Per-attempt limit on the answer: the whole of a health or control call, only the
   * response headers of a run (whose body then lasts as long as the run).
   */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The error to use when `signal` aborted for a reason of the caller's own. */
  abortReason?: () => MechaError | undefined;
  /** Reads the response inside the attempt (so within its timeout); throws to fail it. */
  read: (response: Response, attempt: Attempt) => Promise<T>;
  /** What a failed attempt tells the state machine. */
  event?: (error: MechaError) => CircuitEvent | null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
    const { method, url } = attempt.request;
    const message = `${method} ${url} failed with ${status}: ${
      problem ? `${problem.title}. ${problem.detail}` : response.statusText || "no problem details"
    }`;
    if (status === 429) return new RateLimitedError(message, details);
    if (status === 503 && problem?.code === "busy") return new BusyError(message, details);
    if (status === 503 && problem?.code === "unavailable") {
      return new UnavailableError(message, details);
    }
    return new HttpError(message, details);
  }

  async function fail(response: Response, attempt: Attempt): Promise<never> {
    throw await errorFrom(response, await response.text().catch(() => ""), attempt);
  }

  async function send<T>(call: Call<T>): Promise<T> {
    const request: MechaRequest = { method: call.method, url: `${base}/${call.path}` };
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
          `${request.method} ${request.url} was not sent: the headers option threw (${
            (cause as Error)?.message ?? String(cause)
          }).`,
          { request, attempts, cause },
        );
      }
      for (const [name, value] of Object.entries(call.headers ?? {})) headers.set(name, value);
      headers.set("accept", call.accept);
      if (call.json !== undefined) headers.set("content-type", MEDIA_TYPES.json);
      const controller = new AbortController();
      const unlink = linkSignal(call.signal, controller);
      let timedOut = false;
      const timer = timers.setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, call.timeoutMs);
      let error: MechaError;
      try {
        const response = await fetchOnce(request.url, {
          method: call.method,
          headers,
          body: call.json === undefined ? null : JSON.stringify(call.json),
          signal: controller.signal,
        });
        return await call.read(response, {
          request,
          attempts,
          response: {
            status: response.status,
            headers: Object.fromEntries(response.headers),
          },
        });
      } catch (cause) {
        if (call.signal?.aborted) {
          error =
            call.abortReason?.() ??
            new AbortedError(`${request.method} ${request.url} was aborted.`, {
              request,
              attempts,
              cause: call.signal.reason,
            });
        } else if (isMechaError(cause)) {
          error = cause;
        } else if (timedOut) {
          error = new TimeoutError(
            `${request.method} ${request.url} got no answer within ${call.timeoutMs} ms.`,
            { request, attempts, cause },
          );
        } else {
          error = new NetworkError(
            `Could not reach the Mecha server: ${request.method} ${request.url} failed (${
              (cause as Error)?.message ?? String(cause)
            }).`,
            { request, attempts, cause },
          );
        }
      } finally {
        timers.clearTimeout(timer);
        unlink();
      }
      const event = (call.event ?? circuitEventFor)(error);
      if (event) report(event);
      const delay = call.retries
        ? retryDelay(error, attempts, options.retry, call.safety, options.random)
        : null;
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
      accept: MEDIA_TYPES.json,
      safety: action === "cancel" ? "idempotent" : "unsafe",
      retries: true,
      timeoutMs: options.timeoutMs,
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
      accept: MEDIA_TYPES.json,
      safety: "idempotent",
      retries: false,
      timeoutMs: options.timeoutMs,
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
          if (response.ok) {
            throw new InvalidResponseError(
              `GET ${attempt.request.url} did not return a protocol v1 health body (${describeIssues(parsed.error)}). Is baseUrl pointing at a Mecha server?`,
              { ...attempt, cause: parsed.error },
            );
          }
        }
        throw await errorFrom(response, text, attempt);
      },
    });
  }

  const context: ServerRunContext = { options, send, fail, control };
  const startRun: ServerBackend["startRun"] = (path, body, startOptions) =>
    startServerRun(context, path, body, startOptions);

  return {
    ...context,
    ...createServerCalls(context),
    start: (request, startOptions) => startRun("runs", request, startOptions),
    startRun,
    health,
  };
}
