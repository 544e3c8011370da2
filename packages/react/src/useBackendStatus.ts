"use client";

import type { HealthResponse } from "@mecha/protocol";
import { useIsFetching } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import type { BackendKind, ClientStatus, ConnectionError } from "./internal/clientTypes";
import type { LastRun } from "./internal/createLastRunStore";
import { healthQueryKey, healthQueryOptions } from "./internal/healthQuery";
import { type FallbackLabel, useMechaContext } from "./internal/MechaContext";

/**
 * Where the next program will run, in the words the UI uses: on the `server`, in the `browser`
 * (Pyodide), `simulated` (mock output), `offline` (nowhere), or `unknown` until a health check
 * has succeeded (or a run has shown where code runs).
 */
export type RunLocation = "server" | "browser" | "simulated" | "offline" | "unknown";

export interface BackendStatus {
  /** The client's connection state: `unknown` until a health check has succeeded. */
  status: ClientStatus;
  /** The latest health report, or null before one arrived. */
  health: HealthResponse | null;
  /**
   * Why the last health check failed, e.g. `{ kind: "cors", message }` when the browser blocked
   * the server's answer, `"unreachable"` when nothing answered; null once one succeeds.
   */
  error: ConnectionError | null;
  /** Where code runs now (see {@link RunLocation}). */
  location: RunLocation;
  /** The backend that ran the latest program, if any. */
  lastBackend: BackendKind | null;
  /** True while a health check is in flight. */
  isChecking: boolean;
  /** Checks the backend's health now. */
  check(): Promise<void>;
}

/** Where code runs on `backend` (null when there is none). */
export function toLocation(backend: FallbackLabel | null | undefined): RunLocation | null {
  if (backend === "browser") return "browser";
  if (backend === "mock") return "simulated";
  if (backend === "server") return "server";
  if (backend === "none") return "offline";
  return null;
}

/**
 * Decides the {@link RunLocation} from the client's status, the latest run and the client's first
 * fallback (null when unknown). A run that fell back and ended after the latest status change
 * says where code runs now, whatever the status; an older one only while offline, and then
 * only when the fallback is unknown.
 */
export function locate(
  status: ClientStatus,
  lastRun: Pick<LastRun, "backend" | "current"> | null,
  fallback: FallbackLabel | null,
): RunLocation {
  const fellBack = lastRun && lastRun.backend !== "server" ? lastRun : null;
  if (fellBack?.current) return toLocation(fellBack.backend)!;
  if (status === "online" || status === "degraded") return "server";
  if (status === "offline") {
    return (
      toLocation(fallback === "server" ? null : fallback) ??
      toLocation(fellBack?.backend) ??
      "offline"
    );
  }
  return toLocation(lastRun?.backend) ?? "unknown";
}

/**
 * The backend's status, read from the client's own state machine (so every component agrees).
 * Health checks also run when the window regains focus and when the network comes back.
 * @example
 * const { location } = useBackendStatus();
 * if (location === "simulated") showBanner("Output is simulated: the server is offline.");
 */
export function useBackendStatus(): BackendStatus {
  const {
    client,
    clientKey,
    queryClient,
    lastRun: lastRunStore,
    fallback,
  } = useMechaContext("useBackendStatus");
  const subscribe = useCallback((listener: () => void) => client.subscribe(listener), [client]);
  const status = useSyncExternalStore(
    subscribe,
    () => client.status,
    () => client.status,
  );
  const health = useSyncExternalStore(
    subscribe,
    () => client.health,
    () => client.health,
  );
  // A client object of the host's own may predate `error`.
  const readError = () => client.error ?? null;
  const error = useSyncExternalStore(subscribe, readError, readError);
  const lastRun = useSyncExternalStore(lastRunStore.subscribe, lastRunStore.get, lastRunStore.get);
  const isChecking = useIsFetching({ queryKey: healthQueryKey(clientKey) }, queryClient) > 0;
  const check = useCallback(async () => {
    await queryClient.fetchQuery({ ...healthQueryOptions({ client, clientKey }), staleTime: 0 });
  }, [queryClient, client, clientKey]);
  return {
    status,
    health,
    error,
    location: locate(status, lastRun, fallback),
    lastBackend: lastRun?.backend ?? null,
    isChecking,
    check,
  };
}
