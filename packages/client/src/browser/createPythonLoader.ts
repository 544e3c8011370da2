import { UnavailableError } from "../errors/UnavailableError";
import type { Timers } from "../timers";
import type { BrowserBackendOptions, BrowserBackendState } from "./browserBackendOptions";
import type { RuntimeInfo } from "./workerProtocol";
import { terminateWorkerRuntime, type WorkerRuntime } from "./workerRuntime";

/** The browser backend's one interpreter: loaded on demand, replaced when it had to be ended. */
export interface PythonLoader {
  /** `idle`, `loading`, `ready` or `failed`. */
  readonly state: BrowserBackendState;
  /** The versions and load time of the loaded interpreter. */
  readonly info: RuntimeInfo | null;
  /** The current runtime once Python is ready in it, loading it first if needed. */
  ensure(): Promise<WorkerRuntime>;
  /** Ends `runtime`'s worker; the next run loads Python again (at once, with `warmUp`). */
  kill(runtime: WorkerRuntime): void;
  /** Loads Python ahead of the first run, as `warmUp` says. */
  scheduleWarmUp(): void;
  subscribe(listener: () => void): () => void;
  /** Ends the worker for good; `ensure` rejects from now on. */
  dispose(): void;
}

export interface PythonLoaderOptions {
  /** Starts a worker and has it load Python. */
  spawn(): WorkerRuntime;
  /** Where Python is loaded from, for the error that says it could not be. */
  indexURL: string;
  warmUp: BrowserBackendOptions["warmUp"];
  timers: Timers;
}

export function createPythonLoader(options: PythonLoaderOptions): PythonLoader {
  const { timers } = options;
  const listeners = new Set<() => void>();
  let state: BrowserBackendState = "idle";
  let info: RuntimeInfo | null = null;
  let current: WorkerRuntime | undefined;
  let disposed = false;

  function setState(next: BrowserBackendState): void {
    if (state === next) return;
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function kill(runtime: WorkerRuntime): void {
    if (!terminateWorkerRuntime(runtime)) return;
    if (current === runtime) {
      const wasReady = state === "ready";
      current = undefined;
      info = null;
      if (state !== "failed") setState("idle");
      // A program had to be stopped the hard way: have Python ready again for the next one.
      if (wasReady) scheduleWarmUp();
    }
  }

  function ensure(): Promise<WorkerRuntime> {
    if (disposed) {
      return Promise.reject(new UnavailableError("This browser backend was disposed."));
    }
    if (!current) {
      let spawned: WorkerRuntime;
      try {
        spawned = options.spawn();
      } catch (error) {
        setState("failed");
        return Promise.reject(error);
      }
      current = spawned;
      setState("loading");
      spawned.ready.then(
        (loaded) => {
          if (current !== spawned) return;
          info = loaded;
          setState("ready");
        },
        () => {
          if (current !== spawned) return;
          setState("failed");
          kill(spawned);
        },
      );
    }
    const runtime = current;
    return runtime.ready.then(
      () => runtime,
      (cause: Error) => {
        throw new UnavailableError(
          `Python could not be loaded in the browser from ${options.indexURL}: ${cause.message}. Serve the files of the pyodide npm package (the same version) at that URL.`,
          { cause },
        );
      },
    );
  }

  const warm = () => {
    if (!disposed && !current) ensure().catch(() => {});
  };

  function scheduleWarmUp(): void {
    if (!options.warmUp || disposed) return;
    if (options.warmUp === true) {
      warm();
      return;
    }
    const idle = (
      globalThis as {
        requestIdleCallback?: (callback: () => void, options?: { timeout: number }) => unknown;
      }
    ).requestIdleCallback;
    if (idle) idle(warm, { timeout: 10_000 });
    else timers.setTimeout(warm, 1_000);
  }

  return {
    get state() {
      return state;
    },
    get info() {
      return info;
    },
    ensure,
    kill,
    scheduleWarmUp,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      if (current) kill(current);
      setState("idle");
      listeners.clear();
    },
  };
}
