import type { RunEvent, RunRequest, RunResult } from "@mecha/protocol";
import type { Backend, BackendRun, StdinOptions } from "../backend";
import { AbortedError } from "../errors/AbortedError";
import { UnavailableError } from "../errors/UnavailableError";
import { defaultTimers, type Timers } from "../timers";
import { PYTHON_RUNNER } from "./pythonRunner";
import {
  type BrowserLimits,
  DEFAULT_LIMITS,
  MAX_LIMITS,
  resolveLimits,
  toRunJob,
} from "./toRunJob";
import { type StopReason, toRunResult } from "./toRunResult";
import {
  CONTROL,
  CONTROL_SLOTS,
  type PageMessage,
  type RunOutcome,
  type RuntimeInfo,
  type SharedBuffers,
  STDIN_CAPACITY,
  STDIN_EOF,
  STDIN_READY,
  type WorkerMessage,
} from "./workerProtocol";
import { WORKER_SOURCE } from "./workerSource";

/** The part of the `Worker` API the backend uses: a Web Worker, or a test double. */
export interface WorkerLike {
  postMessage(message: PageMessage): void;
  terminate(): void;
  onmessage: ((event: { data: WorkerMessage }) => void) | null;
  onerror: ((event: { message?: string; preventDefault?(): void }) => void) | null;
}

/** `idle` (nothing loaded), `loading`, `ready`, or `failed` (the last load did not work). */
export type BrowserBackendState = "idle" | "loading" | "ready" | "failed";

export interface BrowserBackendOptions {
  /**
   * Where the Pyodide files are served: the folder holding `pyodide.mjs`, `pyodide.asm.mjs`,
   * `pyodide.asm.wasm`, `python_stdlib.zip` and `pyodide-lock.json` (the `pyodide` npm
   * package's files, same version). Relative URLs resolve against the page.
   * @example "/pyodide/"
   */
  indexURL: string;
  /**
   * Load Python before the first run: `true` at once, `"idle"` when the page is idle, `false`
   * on the first run. Also applies after a stopped program's worker had to be replaced.
   * @default false
   */
  warmUp?: boolean | "idle";
  /**
   * The worker script to start instead of the built-in one (which starts from a `blob:` URL):
   * serve `@mecha/client/browser/worker.js` yourself, e.g. under a Content-Security-Policy
   * without `worker-src blob:`.
   * @default undefined
   */
  workerUrl?: string | URL;
  /**
   * Limits for a request that sets none. Memory cannot be limited in a browser.
   * @default { timeoutMs: 10000, outputBytes: 1048576 }
   */
  defaultLimits?: Partial<BrowserLimits>;
  /**
   * The highest limits a request may ask for; larger ones are clamped.
   * @default { timeoutMs: 60000, outputBytes: 10485760 }
   */
  maxLimits?: Partial<BrowserLimits>;
  /**
   * Packages to load with the interpreter, from `indexURL` (a self-hosted full Pyodide
   * distribution; the npm package holds none).
   * @default []
   */
  packages?: string[];
  /**
   * Before each run, load the packages its code imports from `indexURL`.
   * @default false
   */
  autoLoadPackages?: boolean;
  /**
   * How long a program that was asked to stop (cancel, time or output limit) may take to end
   * before its worker is terminated (and Python reloaded for the next run).
   * @default 1000
   */
  stopGraceMs?: number;
  /**
   * How long loading Python may take before the backend gives up (runs then fall back).
   * @default 120000
   */
  loadTimeoutMs?: number;
  /**
   * Whether the page is cross-origin isolated (shared memory: interactive `input()`, and
   * stopping a program without reloading Python).
   * @default globalThis.crossOriginIsolated
   */
  isolated?: boolean;
  /**
   * Starts the worker; for tests or unusual hosts.
   * @default a Web Worker from the built-in script, or from `workerUrl`
   */
  createWorker?: () => WorkerLike;
  /**
   * Timers for the time limit, the stop grace period and the load timeout.
   * @default globalThis.setTimeout / globalThis.clearTimeout
   */
  timers?: Timers;
}

/** Real Python in the page: a `Backend` for `createClient({ browser })`. */
export interface BrowserBackend extends Backend {
  /** `idle`, `loading`, `ready` or `failed`. */
  readonly state: BrowserBackendState;
  /** The Pyodide and Python versions and how long loading took, once loaded. */
  readonly runtime: RuntimeInfo | null;
  /** True when the page is cross-origin isolated (see `isolated`). */
  readonly isolated: boolean;
  /** Loads Python now (or joins the load in progress). */
  warmUp(): Promise<RuntimeInfo>;
  /** Calls `listener` whenever `state` changes; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  /** Ends the worker; runs still waiting reject with an `AbortedError`. */
  dispose(): void;
}

interface SharedViews {
  control: Int32Array;
  interrupt: Uint8Array;
  stdin: Uint8Array;
}

interface Runtime {
  worker: WorkerLike;
  buffers: SharedBuffers | null;
  views: SharedViews | null;
  ready: Promise<RuntimeInfo>;
  settle(info: RuntimeInfo | Error): void;
  loaded: boolean;
  dead: boolean;
}

interface Run {
  id: string;
  request: RunRequest;
  interactive: boolean;
  onEvent(event: RunEvent): void;
  signal: AbortSignal;
  phase: "queued" | "loading" | "running" | "done";
  runtime?: Runtime;
  limits: BrowserLimits;
  stdout: string;
  stderr: string;
  truncated: boolean;
  stdin: Uint8Array[];
  stdinEof: boolean;
  wantsStdin: boolean;
  startedAt?: number;
  stopReason?: StopReason;
  /** Set when the run ends without a result: the caller's signal aborted, or nothing ran. */
  aborted?: string;
  timers: unknown[];
  resolve(result: RunResult): void;
  reject(error: unknown): void;
}

/** `indexURL` as an absolute folder URL (the worker runs from a `blob:` URL, with no base). */
export function resolveIndexURL(indexURL: string, base: string | undefined): string {
  let href = indexURL;
  try {
    href = new URL(indexURL, base).href;
  } catch {
    // Relative with no base (outside a page): leave as given.
  }
  return href.endsWith("/") ? href : `${href}/`;
}

function detectIsolation(): boolean {
  return (
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true &&
    typeof SharedArrayBuffer === "function"
  );
}

function startWorker(workerUrl: string | URL | undefined): WorkerLike {
  const WorkerClass = (
    globalThis as { Worker?: new (url: string | URL, options?: object) => WorkerLike }
  ).Worker;
  if (typeof WorkerClass !== "function") {
    throw new UnavailableError(
      "Python in the browser needs Web Workers, which this environment does not have.",
    );
  }
  if (workerUrl) return new WorkerClass(workerUrl, { name: "mecha-python", type: "module" });
  if (!WORKER_SOURCE) {
    throw new UnavailableError(
      "This copy of @mecha/client/browser has no built-in worker (it runs from source); pass createBrowserBackend({ workerUrl }).",
    );
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  try {
    return new WorkerClass(url, { name: "mecha-python", type: "module" });
  } finally {
    // The worker holds on to the script once constructed; the URL is no longer needed.
    URL.revokeObjectURL(url);
  }
}

const encoder = new TextEncoder();

/**
 * Creates the `"browser"` fallback backend: CPython (Pyodide) in a dedicated Web Worker, loaded
 * the first time a run needs it (or earlier with `warmUp`). Runs follow the server's contract —
 * streamed output, the same `RunResult` with the same error details, time and output limits,
 * cancel — with honest differences: no CPU time or memory figures (null), no memory limit, and
 * interactive `input()` only when the page is cross-origin isolated (otherwise stdin is what was
 * given up front). It is for availability, not isolation: the code runs with the page's origin.
 *
 * @example
 * createClient({
 *   baseUrl: "/api/mecha",
 *   fallback: ["browser", "mock"],
 *   browser: () =>
 *     import("@mecha/client/browser").then((m) => m.createBrowserBackend({ indexURL: "/pyodide/" })),
 * });
 */
export function createBrowserBackend(options: BrowserBackendOptions): BrowserBackend {
  if (typeof options?.indexURL !== "string" || !options.indexURL) {
    throw new TypeError(
      'createBrowserBackend needs an indexURL where the Pyodide files are served, e.g. createBrowserBackend({ indexURL: "/pyodide/" }).',
    );
  }
  const indexURL = resolveIndexURL(
    options.indexURL,
    (globalThis as { location?: { href: string } }).location?.href,
  );
  const timers = options.timers ?? defaultTimers;
  const isolated = options.isolated ?? detectIsolation();
  const defaults: BrowserLimits = { ...DEFAULT_LIMITS, ...options.defaultLimits };
  const maxima: BrowserLimits = { ...MAX_LIMITS, ...options.maxLimits };
  const graceMs = options.stopGraceMs ?? 1000;
  const loadTimeoutMs = options.loadTimeoutMs ?? 120_000;
  const createWorker = options.createWorker ?? (() => startWorker(options.workerUrl));
  const listeners = new Set<() => void>();
  const queue: Run[] = [];
  let state: BrowserBackendState = "idle";
  let runtimeInfo: RuntimeInfo | null = null;
  let current: Runtime | undefined;
  let active: Run | undefined;
  let runs = 0;
  let disposed = false;

  function setState(next: BrowserBackendState): void {
    if (state === next) return;
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function spawn(): Runtime {
    const buffers: SharedBuffers | null = isolated
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
    const worker = createWorker();
    const runtime: Runtime = {
      worker,
      buffers,
      views: buffers && {
        control: new Int32Array(buffers.control),
        interrupt: new Uint8Array(buffers.interrupt),
        stdin: new Uint8Array(buffers.stdin),
      },
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
    worker.onmessage = (event) => receive(runtime, event.data);
    worker.onerror = (event) => {
      event?.preventDefault?.();
      crash(
        runtime,
        event?.message ||
          "the worker script failed (if a Content-Security-Policy forbids blob: workers, pass workerUrl)",
      );
    };
    worker.postMessage({
      type: "init",
      indexURL,
      runner: PYTHON_RUNNER,
      packages: options.packages ?? [],
      shared: buffers,
    });
    return runtime;
  }

  function kill(runtime: Runtime): void {
    if (runtime.dead) return;
    runtime.dead = true;
    runtime.worker.onmessage = null;
    runtime.worker.onerror = null;
    runtime.worker.terminate();
    runtime.settle(new Error("its worker was stopped"));
    if (current === runtime) {
      const wasReady = state === "ready";
      current = undefined;
      runtimeInfo = null;
      if (state !== "failed") setState("idle");
      // A program had to be stopped the hard way: have Python ready again for the next one.
      if (wasReady) scheduleWarmUp();
    }
  }

  function ensureRuntime(): Promise<Runtime> {
    if (disposed) {
      return Promise.reject(new UnavailableError("This browser backend was disposed."));
    }
    if (!current) {
      let spawned: Runtime;
      try {
        spawned = spawn();
      } catch (error) {
        setState("failed");
        return Promise.reject(error);
      }
      current = spawned;
      setState("loading");
      spawned.ready.then(
        (info) => {
          if (current !== spawned) return;
          runtimeInfo = info;
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
          `Python could not be loaded in the browser from ${indexURL}: ${cause.message}. Serve the files of the pyodide npm package (the same version) at that URL.`,
          { cause },
        );
      },
    );
  }

  const warm = () => {
    if (!disposed && !current) ensureRuntime().catch(() => {});
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

  function emit(run: Run, event: RunEvent): void {
    run.onEvent(event);
  }

  function receive(runtime: Runtime, message: WorkerMessage): void {
    switch (message.type) {
      case "ready": {
        const { type: _type, ...info } = message;
        runtime.loaded = true;
        runtime.settle(info);
        return;
      }
      case "load-error":
        runtime.settle(new Error(message.message));
        return;
      case "fatal":
        crash(runtime, message.message);
        return;
    }
    const run = active;
    if (!run || run.runtime !== runtime || run.id !== message.id || run.phase !== "running") return;
    switch (message.type) {
      case "running":
        run.startedAt = performance.now();
        run.timers.push(timers.setTimeout(() => stop(run, "timed_out"), run.limits.timeoutMs));
        break;
      case "output":
        run[message.stream] += message.data;
        emit(run, { type: message.stream, data: message.data });
        break;
      case "input":
        emit(run, { type: "input", prompt: message.prompt });
        break;
      case "stdin":
        run.wantsStdin = true;
        deliverStdin(run);
        break;
      case "limit":
        run.truncated = true;
        stop(run, "output_exceeded");
        break;
      case "done":
        finish(run, message.outcome);
        if (message.outcome.recycle || message.outcome.crashed) kill(runtime);
        break;
    }
  }

  function crash(runtime: Runtime, message: string): void {
    runtime.settle(new Error(message));
    // While loading, the load's own failure handling ends the worker.
    if (!runtime.loaded) return;
    const run = active;
    kill(runtime);
    if (run?.runtime === runtime && run.phase === "running") {
      finish(run, {
        exitCode: null,
        stopped: false,
        truncated: false,
        durationMs: 0,
        crashed: message,
      });
    }
  }

  function deliverStdin(run: Run): void {
    const views = run.runtime?.views;
    if (!views || !run.wantsStdin || run.phase !== "running") return;
    const { control } = views;
    if (run.stdin.length > 0) {
      let length = 0;
      while (run.stdin.length > 0 && length < STDIN_CAPACITY) {
        const chunk = run.stdin[0]!;
        const taken = chunk.subarray(0, STDIN_CAPACITY - length);
        views.stdin.set(taken, length);
        length += taken.length;
        if (taken.length === chunk.length) run.stdin.shift();
        else run.stdin[0] = chunk.subarray(taken.length);
      }
      Atomics.store(control, CONTROL.LENGTH, length);
      Atomics.store(control, CONTROL.STDIN, STDIN_READY);
    } else if (run.stdinEof) {
      Atomics.store(control, CONTROL.STDIN, STDIN_EOF);
    } else {
      return;
    }
    run.wantsStdin = false;
    Atomics.notify(control, CONTROL.STDIN);
  }

  function takeQueuedStdin(run: Run): string {
    const decoder = new TextDecoder();
    const text = run.stdin.map((chunk) => decoder.decode(chunk, { stream: true })).join("");
    run.stdin = [];
    return text + decoder.decode();
  }

  function pump(): void {
    if (active || disposed) return;
    const run = queue.shift();
    if (!run) return;
    active = run;
    run.phase = "loading";
    ensureRuntime().then(
      (runtime) => begin(run, runtime),
      (error: unknown) => {
        if (run.phase === "done") return;
        run.phase = "done";
        active = undefined;
        run.reject(error);
        pump();
      },
    );
  }

  function begin(run: Run, runtime: Runtime): void {
    if (run.phase !== "loading") return;
    if (runtime.dead) {
      // Replaced between loading and now: load again.
      run.phase = "queued";
      active = undefined;
      queue.unshift(run);
      pump();
      return;
    }
    run.phase = "running";
    run.runtime = runtime;
    const job = toRunJob(run.request, {
      id: run.id,
      interactive: run.interactive,
      isolated: runtime.views !== null,
      queuedStdin: runtime.views && run.request.stdin === undefined ? "" : takeQueuedStdin(run),
      limits: run.limits,
      autoLoadPackages: options.autoLoadPackages ?? false,
    });
    emit(run, { type: "started", id: run.id });
    runtime.worker.postMessage({ type: "run", job });
  }

  function finish(run: Run, outcome: RunOutcome | undefined): void {
    if (run.phase === "done") return;
    run.phase = "done";
    for (const timer of run.timers) timers.clearTimeout(timer);
    if (outcome?.crashed) {
      const note = `\nPython in the browser stopped unexpectedly: ${outcome.crashed}\n`;
      run.stderr += note;
      emit(run, { type: "stderr", data: note });
    }
    const result = toRunResult({
      id: run.id,
      stdout: run.stdout,
      stderr: run.stderr,
      truncated: run.truncated,
      outcome,
      stopReason: run.stopReason,
      durationMs: run.startedAt === undefined ? 0 : performance.now() - run.startedAt,
    });
    if (active === run) active = undefined;
    if (run.aborted) {
      run.reject(new AbortedError(run.aborted, { cause: run.signal.reason }));
    } else {
      emit(run, { type: "exit", result });
      run.resolve(result);
    }
    pump();
  }

  function stop(run: Run, reason: StopReason): void {
    if (run.phase === "done" || run.stopReason) return;
    run.stopReason = reason;
    if (run.phase === "queued" || run.phase === "loading") {
      // Nothing ran, so there is no result (as when the server had not started a run).
      run.aborted ??= "The run was cancelled before Python in the browser started it.";
      if (run.phase === "queued") queue.splice(queue.indexOf(run), 1);
      finish(run, undefined);
      return;
    }
    const runtime = run.runtime!;
    const views = runtime.views;
    if (!views) {
      // Without shared memory the only way to stop Python is to end its worker.
      kill(runtime);
      finish(run, undefined);
      return;
    }
    Atomics.store(views.control, CONTROL.STOP, 1);
    Atomics.notify(views.control, CONTROL.STOP);
    Atomics.notify(views.control, CONTROL.STDIN);
    // SIGINT: Pyodide raises KeyboardInterrupt in the program.
    Atomics.store(views.interrupt, 0, 2);
    run.timers.push(
      timers.setTimeout(() => {
        if (run.phase === "done") return;
        // The program ignored the interrupt (e.g. caught KeyboardInterrupt): end the worker.
        kill(runtime);
        finish(run, undefined);
      }, graceMs),
    );
  }

  scheduleWarmUp();

  return {
    start(request, { signal, onEvent, interactive }): BackendRun {
      const run: Run = {
        id: `browser_${++runs}`,
        request,
        interactive,
        onEvent,
        signal,
        phase: "queued",
        limits: resolveLimits(request.limits, defaults, maxima),
        stdout: "",
        stderr: "",
        truncated: false,
        stdin: [],
        stdinEof: false,
        wantsStdin: false,
        timers: [],
        resolve: () => {},
        reject: () => {},
      };
      const result = new Promise<RunResult>((resolve, reject) => {
        run.resolve = resolve;
        run.reject = reject;
      });
      const abort = () => {
        run.aborted = "The run was aborted.";
        stop(run, "cancelled");
      };
      if (signal.aborted) {
        run.phase = "done";
        run.reject(new AbortedError("The run was aborted.", { cause: signal.reason }));
      } else {
        signal.addEventListener("abort", abort, { once: true });
        result.then(
          () => signal.removeEventListener("abort", abort),
          () => signal.removeEventListener("abort", abort),
        );
        queue.push(run);
        pump();
      }
      return {
        result,
        async sendStdin(data: string, stdinOptions?: StdinOptions) {
          if (run.phase === "done") return;
          if (data) run.stdin.push(encoder.encode(data));
          if (stdinOptions?.eof) run.stdinEof = true;
          deliverStdin(run);
        },
        async cancel() {
          stop(run, "cancelled");
        },
      };
    },
    get state() {
      return state;
    },
    get runtime() {
      return runtimeInfo;
    },
    isolated,
    warmUp() {
      return ensureRuntime().then((runtime) => runtime.ready);
    },
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
      for (const run of [active, ...queue.splice(0)]) {
        if (!run || run.phase === "done") continue;
        run.phase = "done";
        for (const timer of run.timers) timers.clearTimeout(timer);
        run.reject(new AbortedError("The browser backend was disposed."));
      }
      active = undefined;
      setState("idle");
      listeners.clear();
    },
  };
}
