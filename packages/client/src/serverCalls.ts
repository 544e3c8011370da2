import type { RunPending, RuntimesResponse } from "@mecha/protocol";
import {
  LenientRunResult,
  MEDIA_TYPES,
  RunPending as PendingSchema,
  RuntimesResponse as RuntimesSchema,
} from "@mecha/protocol/responses";
import type { BackendRunResult } from "./backend";
import { readJson } from "./readJson";
import type { Attempt } from "./serverBackend";
import type { ServerRunContext } from "./serverRun";

/** The server's answers besides runs and health: its runtimes, and a run after the fact. */
export interface ServerCalls {
  /** `GET /runtimes`. */
  runtimes(signal?: AbortSignal): Promise<RuntimesResponse>;
  /** `GET /runs/{id}`: the result once the run ended, else where it is (202). */
  getRun(id: string, signal?: AbortSignal): Promise<BackendRunResult | RunPending>;
}

export function createServerCalls({ send, fail, options }: ServerRunContext): ServerCalls {
  const get = <T>(
    path: string,
    signal: AbortSignal | undefined,
    read: (response: Response, attempt: Attempt) => Promise<T>,
  ): Promise<T> =>
    send({
      method: "GET",
      path,
      accept: MEDIA_TYPES.json,
      safety: "idempotent",
      retries: true,
      timeoutMs: options.timeoutMs,
      signal,
      read,
    });
  const pending = readJson(fail, PendingSchema, "a pending run");
  const ended = readJson(fail, LenientRunResult, "a run result");

  return {
    runtimes: (signal) => get("runtimes", signal, readJson(fail, RuntimesSchema, "runtimes")),
    getRun: (id, signal) =>
      get<BackendRunResult | RunPending>(
        `runs/${encodeURIComponent(id)}`,
        signal,
        (response, attempt) => (response.status === 202 ? pending : ended)(response, attempt),
      ),
  };
}
