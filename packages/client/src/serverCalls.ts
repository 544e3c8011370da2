import type { RunPending, RuntimesResponse } from "@mecha/protocol";
import {
  LenientRunResult,
  RunPending as PendingSchema,
  RuntimesResponse as RuntimesSchema,
} from "@mecha/protocol/responses";
import type { BackendRunResult } from "./backend";
import { readJson } from "./readJson";
import type { ServerRunContext } from "./serverRun";

/** The server's answers besides runs and health: its runtimes, and a run after the fact. */
export interface ServerCalls {
  /** `GET /runtimes`. */
  runtimes(signal?: AbortSignal): Promise<RuntimesResponse>;
  /** `GET /runs/{id}`: the result once the run ended, else where it is (202). */
  getRun(id: string, signal?: AbortSignal): Promise<BackendRunResult | RunPending>;
}

export function createServerCalls({ send, fail }: ServerRunContext): ServerCalls {
  const pending = readJson(fail, PendingSchema, "pending run");
  const ended = readJson(fail, LenientRunResult, "run result");
  return {
    runtimes: (signal) =>
      send({
        method: "GET",
        path: "runtimes",
        signal,
        read: readJson(fail, RuntimesSchema, "runtimes"),
      }),
    getRun: (id, signal) =>
      send<BackendRunResult | RunPending>({
        method: "GET",
        path: `runs/${encodeURIComponent(id)}`,
        signal,
        read: (response, attempt) => (response.status === 202 ? pending : ended)(response, attempt),
      }),
  };
}
