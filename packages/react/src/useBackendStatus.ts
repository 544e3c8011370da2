"use client";

import type { HealthResponse } from "@mecha/protocol";
import { useIsFetching } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import type { BackendKind, ClientStatus } from "./internal/clientTypes";
import { healthQueryKey, healthQueryOptions } from "./internal/healthQuery";
import { useMechaContext } from "./internal/MechaContext";

/**
 * Where the next program will run, in the words the UI uses: on the `server`, in the `browser`
 * (Pyodide), `simulated` (mock output), `offline` (nowhere), or `unknown` before the first check.
 */
export type RunLocation = "server" | "browser" | "simulated" | "offline" | "unknown";

export interface BackendStatus {
  /** The client's connection state. */
  status: ClientStatus;
  /** The latest health report, or null before one arrived. */
  health: HealthResponse | null;
  /** Where code runs now (see {@link RunLocation}). */
  location: RunLocation;
  /** The backend that ran the latest program, if any. */
  lastBackend: BackendKind | null;
  /** True while a health check is in flight. */
  isChecking: boolean;
  /** Checks the backend's health now. */
  check(): Promise<void>;
}

function toLocation(backend: BackendKind | "none" | null): RunLocation | null {
  if (backend === "browser") return "browser";
  if (backend === "mock") return "simulated";
  if (backend === "server") return "server";
  if (backend === "none") return "offline";
  return null;
}

/** Decides the {@link RunLocation} from the client's state and what is known of its fallback. */
export function locate(
  status: ClientStatus,
  lastBackend: BackendKind | null,
  fallback: BackendKind | "none" | null,
): RunLocation {
  if (status === "online" || status === "degraded") return "server";
  if (status === "offline") {
    if (lastBackend && lastBackend !== "server") return toLocation(lastBackend)!;
    return toLocation(fallback === "server" ? null : fallback) ?? "offline";
  }
  return toLocation(lastBackend) ?? "unknown";
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
    lastBackend: lastStore,
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
  const lastBackend = useSyncExternalStore(lastStore.subscribe, lastStore.get, lastStore.get);
  const isChecking = useIsFetching({ queryKey: healthQueryKey(clientKey) }, queryClient) > 0;
  const check = useCallback(async () => {
    await queryClient.fetchQuery({ ...healthQueryOptions({ client, clientKey }), staleTime: 0 });
  }, [queryClient, client, clientKey]);
  return {
    status,
    health,
    location: locate(status, lastBackend, fallback),
    lastBackend,
    isChecking,
    check,
  };
}
