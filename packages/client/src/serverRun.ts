import type { RunLimits } from "@mecha/protocol";
import { HEADERS, MEDIA_TYPES, parseRunEvent } from "@mecha/protocol/responses";
import type { BackendRun, BackendRunResult, BackendStartOptions } from "./backend";
import { circuitEventFor } from "./circuit";
import { AbortedError } from "./errors/AbortedError";
import { InvalidResponseError } from "./errors/InvalidResponseError";
import { isMechaError } from "./errors/isMechaError";
import type { MechaError, MechaRequest, MechaResponse } from "./errors/MechaError";
import { messageOf } from "./errors/messageOf";
import { NetworkError } from "./errors/NetworkError";
import { TimeoutError } from "./errors/TimeoutError";
import { linkSignal } from "./linkSignal";
import { parseNdjson } from "./ndjson";
import { randomKey } from "./randomKey";
import { unexpected } from "./readJson";
import { backoffDelay } from "./retry";
import type { Attempt, Call, ServerBackendOptions } from "./serverBackend";
import { abortError, sleep } from "./timers";

/** What a run on the server needs of the server backend. */
export interface ServerRunContext {
  readonly options: ServerBackendOptions;
  send<T>(call: Call<T>): Promise<T>;
  fail(response: Response, attempt: Attempt): Promise<never>;
  control(id: string, action: "stdin" | "cancel", json?: unknown): Promise<void>;
}

/** The body of a run request: `POST /runs`, or a session's `POST /sessions/{id}/runs`. */
export interface RunBody {
  stdin?: string | undefined;
  limits?: RunLimits | undefined;
}

/**
 * One run on the server, streamed as NDJSON from `POST {path}`, whose every attempt carries the
 * run's one `Idempotency-Key`. Lines are read with `parseRunEvent` (types a newer server added
 * are skipped). A stream that breaks after `started` goes on where it stopped, with
 * `GET /runs/{id}/events?after=<last seq>` (events already read are dropped); before `started`,
 * a server that honours the key is simply asked again. Each reopening that brings nothing new
 * waits the retry policy's backoff, and after `retry.limit` of them the run fails.
 */
export function startServerRun(
  { options, send, fail, control }: ServerRunContext,
  path: string,
  body: RunBody,
  { signal, onEvent, interactive }: BackendStartOptions,
): BackendRun {
  const { timers, report, retry } = options;
  const controller = new AbortController();
  const unlink = linkSignal(signal, controller);
  const runRequest: MechaRequest = {
    method: "POST",
    url: `${options.baseUrl.replace(/\/+$/, "")}/${path}`,
  };
  const headers = { [HEADERS.idempotencyKey]: randomKey() };
  // Without stdin in the body a streaming run keeps stdin open; run() must not wait.
  const json = interactive ? body : { ...body, stdin: body.stdin ?? "" };
  let begin: (id: string) => void = () => {};
  let never: (error: unknown) => void = () => {};
  const idReady = new Promise<string>((resolve, reject) => {
    begin = resolve;
    never = reject;
  });
  idReady.catch(() => {});
  let id: string | undefined;
  let lastSeq: number | undefined;
  /** Events read, of every type: a reopened stream that adds none made no progress. */
  let received = 0;
  let reason: MechaError | undefined;
  let watchdog: unknown;
  let settled = false;
  let answer: MechaResponse | undefined;

  // The server behind this client honours the key: its health lists `resume` (the run store
  // that replays a run's events also answers a repeated key with the same run).
  const keyHonoured = () => options.features?.()?.includes("resume") ?? false;

  const broke = (cause?: unknown) =>
    new NetworkError(
      cause === undefined
        ? "The run stream closed before the run ended."
        : `The run stream broke (${messageOf(cause)}).`,
      { request: runRequest, response: answer, cause },
    );

  /** `POST {path}`, or (with `events`) `GET` a started run's events; resolves with the stream. */
  const open = (events?: string) =>
    send({
      method: events ? "GET" : "POST",
      path: events ?? path,
      json: events ? undefined : json,
      headers: events ? undefined : headers,
      accept: MEDIA_TYPES.ndjson,
      // A repeated POST with the key answers the same run, so it may be sent again whenever its
      // answer was lost; without the key, only where the server cannot have acted.
      safety: events || keyHonoured() ? "idempotent" : "unsafe",
      signal: controller.signal,
      abortReason: () => reason,
      read: async (response, attempt) => {
        if (!response.ok) await fail(response, attempt);
        const type = response.headers.get("content-type");
        if (!response.body || !type?.includes("ndjson")) {
          throw new InvalidResponseError(
            `${attempt.request.url} answered ${type} instead of ${MEDIA_TYPES.ndjson}.`,
            attempt,
          );
        }
        answer = attempt.response;
        report({ type: "success" });
        return response.body;
      },
    });

  /** Reads a stream to its `exit`; undefined when it ended without one. */
  async function read(stream: ReadableStream<Uint8Array>): Promise<BackendRunResult | undefined> {
    for await (const value of parseNdjson(stream, controller.signal)) {
      const parsed = parseRunEvent(value);
      if (parsed.kind === "invalid") {
        throw unexpected({ request: runRequest, response: answer }, "run event", parsed.error);
      }
      const { seq } = parsed.event;
      // A reopened stream may repeat what was read before the break.
      if (seq !== undefined && lastSeq !== undefined && seq <= lastSeq) continue;
      received++;
      lastSeq = seq ?? lastSeq;
      if (parsed.kind === "unknown") continue;
      const event = parsed.event;
      if (event.type === "started" && id === undefined) {
        id = event.id;
        begin(id);
        // The wall limit runs from `started`, as the server's does: not ending within the
        // limit plus a margin means the server is stuck. The server says the run's limit (after
        // clamping, or a session's); one that does not is assumed to hold the one asked for.
        const limitMs =
          event.limits?.timeoutMs ?? body.limits?.timeoutMs ?? options.defaultRunTimeoutMs;
        const wallMs = limitMs + options.runTimeoutMarginMs;
        watchdog = timers.setTimeout(() => {
          reason = new TimeoutError(
            `The run did not end within ${wallMs} ms (time limit plus margin).`,
            { request: runRequest, response: answer },
          );
          controller.abort(reason);
        }, wallMs);
      }
      onEvent(event);
      if (event.type === "exit") return event.result;
    }
  }

  const result = (async (): Promise<BackendRunResult> => {
    try {
      let stream = await open();
      for (let idle = 0; ; ) {
        const before = received;
        let broken: NetworkError;
        try {
          const ended = await read(stream);
          if (ended) {
            report({ type: "run", ok: true });
            return ended;
          }
          broken = broke();
        } catch (cause) {
          if (isMechaError(cause) || controller.signal.aborted) throw cause;
          broken = broke(cause);
        }
        idle = received > before ? 0 : idle + 1;
        // An old server sends no `seq`: its stream cannot be taken up again.
        const resumable = id === undefined ? keyHonoured() : lastSeq !== undefined;
        if (!resumable || idle > retry.limit) throw broken;
        if (idle > 0)
          await sleep(backoffDelay(idle, retry, options.random), timers, controller.signal);
        stream = await open(
          id === undefined ? undefined : `runs/${encodeURIComponent(id)}/events?after=${lastSeq}`,
        );
      }
    } catch (cause) {
      const error: MechaError =
        reason ??
        (signal.aborted
          ? abortError(signal, "The run")
          : isMechaError(cause)
            ? cause
            : broke(cause));
      // Failures before the stream were reported by send(); these happened during it.
      const event = circuitEventFor(error);
      if (answer && event) report(event);
      if (event?.type === "failure") report({ type: "run", ok: false });
      // The client gave up (time, a bad answer, an abort): end the run. Not when the server
      // cannot give the rest of its stream (404, 410): the run may still end, and be read.
      if (id !== undefined && error.code !== "network" && error.code !== "http") {
        control(id, "cancel").catch(() => {});
      }
      never(error);
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
      await control(await idReady, "stdin", { data, eof: stdinOptions.eof ?? false });
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
