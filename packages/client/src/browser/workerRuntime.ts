import type { Timers } from "../timers";
import type { WorkerLike } from "./browserBackendOptions";
import { PYTHON_RUNNER } from "./pythonRunner";
import {
  CONTROL_SLOTS,
  type RuntimeInfo,
  type SharedBuffers,
  type SharedViews,
  STDIN_CAPACITY,
  viewsOf,
  type WorkerMessage,
} from "./workerProtocol";

/** One worker with its Python interpreter: loading, ready, or stopped for good (`dead`). */
export interface WorkerRuntime {
  worker: WorkerLike;
  /** The memory shared with the worker; null when the page is not cross-origin isolated. */
  views: SharedViews | null;
  /** Settles once Python has loaded, or could not. */
  ready: Promise<RuntimeInfo>;
  settle(info: RuntimeInfo | Error): void;
  loaded: boolean;
  dead: boolean;
}

export interface WorkerRuntimeOptions {
  createWorker(): WorkerLike;
  /** Share memory with the worker (interactive stdin, stopping without a reload). */
  isolated: boolean;
  indexURL: string;
  packages: string[];
  loadTimeoutMs: number;
  timers: Timers;
  /** Every message the worker sends. */
  onMessage(runtime: WorkerRuntime, message: WorkerMessage): void;
  /** The worker script itself failed. */
  onCrash(runtime: WorkerRuntime, message: string): void;
}

/**
 * Starts a worker and has it load Python (with the runner), giving up after `loadTimeoutMs`.
 */
export function spawnWorkerRuntime(options: WorkerRuntimeOptions): WorkerRuntime {
  const { timers, loadTimeoutMs } = options;
  const buffers: SharedBuffers | null = options.isolated
    ? {
        control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
        interrupt: new SharedArrayBuffer(1),
        stdin: new SharedArrayBuffer(STDIN_CAPACITY),
      }
    : null;
  let settle: (info: RuntimeInfo | Error) => void = () => {};
  const ready = new Promise<RuntimeInfo>((resolve, reject) => {
    settle = (info) => (info instanceof Error ? reject(info) : resolve(info));
  });
  const worker = options.createWorker();
  const runtime: WorkerRuntime = {
    worker,
    views: buffers && viewsOf(buffers),
    ready,
    settle,
    loaded: false,
    dead: false,
  };
  const timeout = timers.setTimeout(
    () => settle(new Error(`it did not finish loading within ${loadTimeoutMs} ms`)),
    loadTimeoutMs,
  );
  ready.then(
    () => timers.clearTimeout(timeout),
    () => timers.clearTimeout(timeout),
  );
  worker.onmessage = (event) => options.onMessage(runtime, event.data);
  worker.onerror = (event) => {
    event?.preventDefault?.();
    options.onCrash(
      runtime,
      event?.message ||
        "the worker script failed (if a Content-Security-Policy forbids blob: workers, pass workerUrl)",
    );
  };
  worker.postMessage({
    type: "init",
    indexURL: options.indexURL,
    runner: PYTHON_RUNNER,
    packages: options.packages,
    shared: buffers,
  });
  return runtime;
}

/** Ends the worker (and any program in it); false when it had already ended. */
export function terminateWorkerRuntime(runtime: WorkerRuntime): boolean {
  if (runtime.dead) return false;
  runtime.dead = true;
  runtime.worker.onmessage = null;
  runtime.worker.onerror = null;
  runtime.worker.terminate();
  runtime.settle(new Error("its worker was stopped"));
  return true;
}
