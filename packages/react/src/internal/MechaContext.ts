import type { QueryClient } from "@tanstack/react-query";
import { createContext, useContext } from "react";
import { MechaReactError } from "../MechaReactError";
import type { BackendKind, MechaClient } from "./clientTypes";

/** Remembers which backend ran the latest program, so offline labels can say where code runs. */
export interface LastBackendStore {
  get(): BackendKind | null;
  set(backend: BackendKind): void;
  subscribe(listener: () => void): () => void;
}

export function createLastBackendStore(): LastBackendStore {
  let value: BackendKind | null = null;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(backend) {
      if (backend === value) return;
      value = backend;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

export interface MechaContextValue {
  client: MechaClient;
  /** The host's QueryClient when there is one, otherwise the provider's own. */
  queryClient: QueryClient;
  /** Distinguishes clients in query keys. */
  clientKey: number;
  lastBackend: LastBackendStore;
  /** The fallback the client was created with, when the provider knows it. */
  fallback: BackendKind | "none" | null;
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
