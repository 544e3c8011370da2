import type { QueryClient } from "@tanstack/react-query";
import { createContext, useContext } from "react";
import { MechaReactError } from "../MechaReactError";
import type { BackendKind, MechaClient } from "./clientTypes";
import type { LastRunStore } from "./createLastRunStore";

/** Where a client falls back to when the server is offline, for labels. */
export type FallbackLabel = BackendKind | "none";

export interface MechaContextValue {
  client: MechaClient;
  /** The host's QueryClient when there is one, otherwise the provider's own. */
  queryClient: QueryClient;
  /** Distinguishes clients in query keys. */
  clientKey: number;
  lastRun: LastRunStore;
  /** The first fallback the client would use, when the provider knows it. */
  fallback: FallbackLabel | null;
}

export const MechaContext = createContext<MechaContextValue | null>(null);

export function useMechaContext(hook: string): MechaContextValue {
  const value = useContext(MechaContext);
  if (!value) {
    throw new MechaReactError(
      "missing_provider",
      `${hook} must be used within <MechaProvider>. Wrap the component in <MechaProvider client={createClient({ baseUrl })}> (or <MechaProvider options={{ baseUrl }}>).`,
    );
  }
  return value;
}
