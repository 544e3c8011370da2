"use client";

import { createClient } from "@mecha/client";
import { QueryClient, QueryClientContext, useQuery } from "@tanstack/react-query";
import { type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import type { BackendKind, ClientOptions, MechaClient } from "./internal/clientTypes";
import { createLastRunStore } from "./internal/createLastRunStore";
import { fallbackLabel } from "./internal/fallbackLabel";
import { healthQueryOptions } from "./internal/healthQuery";
import { MechaContext, type MechaContextValue } from "./internal/MechaContext";
import { MechaReactError } from "./MechaReactError";

export interface MechaProviderProps {
  /** A client from `createClient` in `@mecha/client`. Give either `client` or `options`. */
  client?: MechaClient;
  /**
   * Options for a client the provider creates (and disposes of on unmount). Read once: to use
   * other options, remount the provider (e.g. with a new `key`). Plain data, so a Server
   * Component can pass it.
   * @example <MechaProvider options={{ baseUrl: "/api/mecha", fallback: "mock" }}>
   */
  options?: ClientOptions;
  /**
   * The QueryClient for health checks and runs. Defaults to the one from the surrounding
   * `QueryClientProvider`, or else a private one; either way keys start with `"mecha"`.
   */
  queryClient?: QueryClient;
  /**
   * Check the backend's health when the window regains focus or the network comes back.
   * @default true
   */
  healthChecks?: boolean;
  /**
   * Where code runs while the server is offline, for labels only. Every client from
   * `createClient` says so itself (`client.fallbacks`), and then this prop is ignored: it is for a
   * `client` object of your own that has no `fallbacks` list (a wrapper or a test double).
   * @example <MechaProvider client={clientDouble} fallback="mock">
   */
  fallback?: BackendKind | "none";
  children?: ReactNode;
}

let nextClientKey = 0;
const clientKeys = new WeakMap<object, number>();
function keyOf(client: MechaClient): number {
  let key = clientKeys.get(client);
  if (key === undefined) {
    key = ++nextClientKey;
    clientKeys.set(client, key);
  }
  return key;
}

/** A client the provider made from `options`; recreated if React remounts after a cleanup. */
function useOwnedClient(options: ClientOptions | undefined): MechaClient | null {
  const [owned, setOwned] = useState<{ client: MechaClient; disposed: boolean } | null>(() =>
    options ? { client: createClient(options), disposed: false } : null,
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: options are read once, by design
  useEffect(() => {
    if (!owned || !options) return;
    if (owned.disposed) {
      setOwned({ client: createClient(options), disposed: false });
      return;
    }
    return () => {
      owned.disposed = true;
      owned.client.dispose();
    };
  }, [owned]);
  return owned?.client ?? null;
}

/**
 * Makes a Mecha client available to the hooks and components below it, and keeps the client's
 * health state fresh: TanStack Query checks it on window focus and reconnect, feeding the
 * client's own state machine (the one source of truth that `useBackendStatus` reads).
 *
 * Works with or without a surrounding `QueryClientProvider`, and never touches its other queries.
 * @example
 * <MechaProvider client={createClient({ baseUrl: "/api/mecha", fallback: "mock" })}>
 *   <CodeRunner defaultCode={'print("hi")'} />
 * </MechaProvider>
 */
export function MechaProvider(props: MechaProviderProps) {
  const { client: given, options, queryClient: explicitQueryClient, children } = props;
  if (!given && !options) {
    throw new MechaReactError(
      "invalid_props",
      '<MechaProvider> needs a `client` (from createClient in @mecha/client) or `options` to create one, e.g. <MechaProvider options={{ baseUrl: "/api/mecha" }}>.',
    );
  }
  const owned = useOwnedClient(given ? undefined : options);
  const client = (given ?? owned)!;
  const hostQueryClient = useContext(QueryClientContext);
  const [privateQueryClient] = useState(() =>
    explicitQueryClient || hostQueryClient ? null : new QueryClient(),
  );
  const queryClient = explicitQueryClient ?? hostQueryClient ?? privateQueryClient!;

  useEffect(() => {
    // A QueryClient nobody mounted does not listen for focus and reconnect; ours needs to.
    if (queryClient !== privateQueryClient && queryClient !== explicitQueryClient) return;
    queryClient.mount();
    return () => queryClient.unmount();
  }, [queryClient, privateQueryClient, explicitQueryClient]);

  const lastRun = useMemo(() => createLastRunStore(client), [client]);
  const fallback = fallbackLabel(client, props.fallback, given ? undefined : options);
  const value = useMemo<MechaContextValue>(
    () => ({ client, queryClient, clientKey: keyOf(client), lastRun, fallback }),
    [client, queryClient, lastRun, fallback],
  );

  return (
    <MechaContext.Provider value={value}>
      {props.healthChecks !== false && <HealthChecks value={value} />}
      {children}
    </MechaContext.Provider>
  );
}

/** Keeps the health query observed, so focus and reconnect trigger checks. Renders nothing. */
function HealthChecks({ value }: { value: MechaContextValue }) {
  useQuery(healthQueryOptions(value), value.queryClient);
  return null;
}
