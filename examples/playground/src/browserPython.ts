import type { BrowserBackend, BrowserBackendState, RuntimeInfo } from "@mecha/client/browser";
import { useEffect, useState } from "react";

let loading: Promise<BrowserBackend> | undefined;

/**
 * The page's one in-browser Python backend. Its code is fetched the first time it is needed,
 * so a page whose server is up never downloads it; Python itself then loads when the page is
 * idle, from the Pyodide files server.js serves at /pyodide/.
 */
export function loadBrowserPython(): Promise<BrowserBackend> {
  loading ??= import("@mecha/client/browser").then(({ createBrowserBackend }) =>
    createBrowserBackend({ indexURL: "/pyodide/", warmUp: "idle" }),
  );
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

export interface BrowserPython {
  state: BrowserBackendState;
  runtime: RuntimeInfo | null;
  isolated: boolean;
}

/** The in-browser backend's state, loading it once `needed` (e.g. the server went away). */
export function useBrowserPython(needed: boolean): BrowserPython | null {
  const [snapshot, setSnapshot] = useState<BrowserPython | null>(null);
  useEffect(() => {
    if (!needed) return;
    let unsubscribe = () => {};
    let cancelled = false;
    loadBrowserPython().then(
      (backend) => {
        if (cancelled) return;
        const read = () =>
          setSnapshot({
            state: backend.state,
            runtime: backend.runtime,
            isolated: backend.isolated,
          });
        unsubscribe = backend.subscribe(read);
        read();
      },
      () => {},
    );
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [needed]);
  return snapshot;
}
