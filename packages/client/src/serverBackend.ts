import {
  HealthResponse,
  MEDIA_TYPES,
  Problem,
  RunEvent,
  type RunRequest,
  type RunResult,
} from "@mecha/protocol";
import type { Backend, BackendRun, BackendStartOptions } from "./backend";
import { type CircuitEvent, circuitEventFor } from "./circuit";
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
import { parseNdjson } from "./ndjson";
import type { ResolvedOptions } from "./resolveOptions";
import { parseRetryAfter, type RequestSafety, retryDelay } from "./retry";
import { abortError, sleep } from "./timers";

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
}

/** The Mecha server as a backend, plus its health check. */
export interface ServerBackend extends Backend {
  health(signal?: AbortSignal): Promise<HealthResponse>;
}

interface Attempt {
  request: MechaRequest;
  attempts: number;
  response: MechaResponse;
}

interface Call<T> {
  method: "GET" | "POST";
  path: string;
  json?: unknown;
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

interface ZodLikeError {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}

function describeIssues(error: ZodLikeError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
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
    const parsed = Problem.safeParse(parseJson(text));
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

  function start(
    request: RunRequest,
    { signal, onEvent, interactive }: BackendStartOptions,
  ): BackendRun {
    const controller = new AbortController();
    const unlink = linkSignal(signal, controller);
    const wallMs =
      (request.limits?.timeoutMs ?? options.defaultRunTimeoutMs) + options.runTimeoutMarginMs;
    const runRequest: MechaRequest = { method: "POST", url: `${base}/runs` };
    const idReady = deferred<string>();
    let id: string | undefined;
    let reason: MechaError | undefined;
    let watchdog: unknown;
    let settled = false;
    let answer: MechaResponse | undefined;

    const result = (async (): Promise<RunResult> => {
      try {
        // `timeoutMs` bounds the wait for the response headers, which the server sends at once;
        // a run queued on the server then sends `started` whenever it leaves the queue.
        const response = await send({
          method: "POST",
          path: "runs",
          // Without stdin in the body a streaming run keeps stdin open; run() must not wait.
          json: interactive ? request : { ...request, stdin: request.stdin ?? "" },
          accept: MEDIA_TYPES.ndjson,
          safety: "unsafe",
          retries: true,
          timeoutMs: options.timeoutMs,
          signal: controller.signal,
          abortReason: () => reason,
          read: async (response, attempt) => {
            if (!response.ok) await fail(response, attempt);
            if (!response.body || !response.headers.get("content-type")?.includes("ndjson")) {
              throw new InvalidResponseError(
                `POST ${attempt.request.url} answered ${response.headers.get("content-type") ?? "without a content type"} instead of ${MEDIA_TYPES.ndjson}.`,
                attempt,
              );
            }
            answer = attempt.response;
            return response;
          },
        });
        report({ type: "success" });
        for await (const value of parseNdjson(response.body!, controller.signal)) {
          const parsed = RunEvent.safeParse(value);
          if (!parsed.success) {
            throw new InvalidResponseError(
              `The run stream sent an event that is not protocol v1 (${describeIssues(parsed.error)}).`,
              { request: runRequest, response: answer, cause: parsed.error },
            );
          }
          const event = parsed.data;
          if (event.type === "started" && id === undefined) {
            id = event.id;
            idReady.resolve(id);
            // The wall limit runs from `started`, as the server's does: not ending within the
            // limit plus a margin means the server is stuck.
            watchdog = timers.setTimeout(() => {
              reason = new TimeoutError(
                `The run did not end within ${wallMs} ms of starting, its time limit plus margin; the server may be stuck.`,
                { request: runRequest, response: answer },
              );
              controller.abort(reason);
            }, wallMs);
          }
          onEvent(event);
          if (event.type === "exit") {
            report({ type: "run", ok: true });
            return event.result;
          }
        }
        throw new NetworkError(
          "The server closed the run stream before the run ended; it may have stopped mid-run.",
          { request: runRequest, response: answer },
        );
      } catch (cause) {
        let error: MechaError;
        if (reason) error = reason;
        else if (signal.aborted) error = abortError(signal, "The run");
        else if (isMechaError(cause)) error = cause;
        else {
          error = new NetworkError(
            `The connection to the server broke mid-run (${(cause as Error)?.message ?? cause}).`,
            { request: runRequest, response: answer, cause },
          );
        }
        // Failures before the stream were reported by send(); these happened during it.
        const event = circuitEventFor(error);
        if (answer && event) report(event);
        if (event?.type === "failure") report({ type: "run", ok: false });
        if (id !== undefined && error.code !== "network") {
          control(id, "cancel").catch(() => {});
        }
        idReady.reject(error);
        throw error;
      } finally {
        settled = true;
        if (watchdog !== undefined) timers.clearTimeout(watchdog);
        unlink();
      }
    })();

    return {
      result,
      async sendStdin(data, stdinOptions = {}) {
        const runId = await idReady.promise;
        await control(runId, "stdin", { data, eof: stdinOptions.eof ?? false });
      },
      async cancel() {
        if (settled) return;
        if (id === undefined) {
          // Not started yet (connecting, retrying, or queued on the server): drop the request.
          // The server cancels a run whose client goes away.
          reason ??= new AbortedError("The run was cancelled before the server started it.", {
            request: runRequest,
          });
          controller.abort(reason);
          return;
        }
        await control(id, "cancel").catch((error: MechaError) => {
          // Ending a run that already ended is not a failure.
          if (error.problem?.code !== "run_finished") throw error;
        });
      },
    };
  }

  return { start, health };
}
