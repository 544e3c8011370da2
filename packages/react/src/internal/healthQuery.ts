import type { MechaContextValue } from "./MechaContext";

/** Query keys of this package all start with this, so they never collide with the host's. */
export const QUERY_KEY_ROOT = "mecha" as const;

export function healthQueryKey(clientKey: number) {
  return [QUERY_KEY_ROOT, "health", clientKey] as const;
}

/**
 * The health check as a query. Its data is only a receipt: the status lives in the client's
 * state machine, which `checkHealth` updates, and which the UI reads directly.
 */
export function healthQueryOptions({
  client,
  clientKey,
}: Pick<MechaContextValue, "client" | "clientKey">) {
  return {
    queryKey: healthQueryKey(clientKey),
    queryFn: async () => {
      try {
        await client.checkHealth();
      } catch {
        // A failed check is recorded by the client's state machine as offline.
      }
      return { status: client.status, checkedAt: Date.now() };
    },
    staleTime: 2_000,
    retry: false,
    refetchOnWindowFocus: true,
    refetchOnReconnect: true,
    // The check must run even when the browser believes it is offline: that is what it measures.
    networkMode: "always" as const,
    throwOnError: false,
  };
}
