import type { RunEvent, RunRequest } from "@mecha/protocol";
import type { BackendRun, BackendStartOptions, StdinOptions } from "../backend";
import { AbortedError } from "../errors/AbortedError";
import { defaultTimers } from "../timers";
import type { BrowserBackend, BrowserBackendOptions } from "./browserBackendOptions";
import {
  type BrowserRun,
  createBrowserRun,
  deliverStdin,
  interruptProgram,
  takeQueuedStdin,
} from "./browserRun";
import { createBrowserSessions, type SessionBinding, sessionProblem } from "./browserSessions";
import { createPythonLoader } from "./createPythonLoader";
import { detectIsolation, resolveIndexURL, startWorker } from "./startWorker";
import {
  type BrowserLimits,
  DEFAULT_LIMITS,
  MAX_LIMITS,
  resolveLimits,
  toRunJob,
} from "./toRunJob";
import { type StopReason, toRunResult } from "./toRunResult";
import type { RunOutcome, WorkerMessage } from "./workerProtocol";
import { spawnWorkerRuntime, type WorkerRuntime } from "./workerRuntime";

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
  const queue: BrowserRun[] = [];
  let active: BrowserRun | undefined;
  let runs = 0;
  let disposed = false;
  const python = createPythonLoader({
    indexURL,
    warmUp: options.warmUp,
    timers,
    spawn: () =>
      spawnWorkerRuntime({
        createWorker,
        isolated,
        indexURL,
        packages: options.packages ?? [],
        loadTimeoutMs,
        timers,
        onMessage: receive,
        onCrash: crash,
      }),
  });
  const kill = (runtime: WorkerRuntime) => {
    python.kill(runtime);
    sessions.ended(runtime);
  };
  const sessions = createBrowserSessions({
    ensure: () => python.ensure(),
    startRun: (request, startOptions, session) => startRun(request, startOptions, session),
  });

  function emit(run: BrowserRun, event: RunEvent): void {
    run.onEvent(event);
  }

  function receive(runtime: WorkerRuntime, message: WorkerMessage): void {
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
      case "reply":
        sessions.receive(message);
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
      case "display":
        run.displays.push({ data: message.data });
        emit(run, { type: "display", data: message.data });
        break;
      case "stdin":
        run.wantsStdin = true;
        deliverStdin(run);
        // A read of sys.stdin with nothing to hand over waits for the user: say so, as input()
        // does (without a prompt).
        if (message.ask && run.wantsStdin) emit(run, { type: "input", prompt: "" });
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

  function crash(runtime: WorkerRuntime, message: string): void {
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

  function pump(): void {
    if (active || disposed) return;
    const run = queue.shift();
    if (!run) return;
    active = run;
    run.phase = "loading";
    // A session's run goes to the worker that holds the session, whatever became of it.
    (run.session ? Promise.resolve(run.session.runtime) : python.ensure()).then(
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

  function begin(run: BrowserRun, runtime: WorkerRuntime): void {
    if (run.phase !== "loading") return;
    if (runtime.dead && run.session) {
      run.phase = "done";
      active = undefined;
      run.reject(
        sessionProblem(
          "session_lost",
          410,
          `the session ${run.session.id} is gone with its state.`,
        ),
      );
      pump();
      return;
    }
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
      session: run.session?.id,
    });
    emit(run, { type: "started", id: run.id });
    runtime.worker.postMessage({ type: "run", job });
  }

  function finish(run: BrowserRun, outcome: RunOutcome | undefined): void {
    if (run.phase === "done") return;
    run.phase = "done";
    for (const timer of run.timers) timers.clearTimeout(timer);
    if (outcome?.crashed) {
      const note = `\nPython in the browser stopped unexpectedly: ${outcome.crashed}\n`;
      run.stderr += note;
      emit(run, { type: "stderr", data: note });
    }
    const session = run.session;
    const result = toRunResult({
      id: run.id,
      stdout: run.stdout,
      stderr: run.stderr,
      displays: run.displays,
      truncated: run.truncated,
      outcome,
      stopReason: run.stopReason,
      durationMs: run.startedAt === undefined ? 0 : performance.now() - run.startedAt,
      // The worker is replaced after a crash, a recycle, or a stop it did not heed.
      session: session && {
        id: session.id,
        state: session.runtime.dead || outcome?.recycle || outcome?.crashed ? "lost" : "kept",
      },
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

  function stop(run: BrowserRun, reason: StopReason): void {
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
    interruptProgram(views);
    run.timers.push(
      timers.setTimeout(() => {
        if (run.phase === "done") return;
        // The program ignored the interrupt (e.g. caught KeyboardInterrupt): end the worker.
        kill(runtime);
        finish(run, undefined);
      }, graceMs),
    );
  }

  function startRun(
    request: RunRequest,
    { signal, onEvent, interactive }: BackendStartOptions,
    session?: SessionBinding,
  ): BackendRun {
    const { run, result } = createBrowserRun({
      id: `browser_${++runs}`,
      request,
      interactive,
      onEvent,
      signal,
      limits: resolveLimits(request.limits, defaults, maxima),
      session,
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
  }

  python.scheduleWarmUp();

  return {
    start: (request, startOptions) => startRun(request, startOptions),
    createSession: (request) => sessions.createSession(request),
    get state() {
      return python.state;
    },
    get runtime() {
      return python.info;
    },
    isolated,
    warmUp() {
      return python.ensure().then((runtime) => runtime.ready);
    },
    subscribe: python.subscribe,
    dispose() {
      if (disposed) return;
      disposed = true;
      python.dispose();
      sessions.ended();
      for (const run of [active, ...queue.splice(0)]) {
        if (!run || run.phase === "done") continue;
        run.phase = "done";
        for (const timer of run.timers) timers.clearTimeout(timer);
        run.reject(new AbortedError("The browser backend was disposed."));
      }
      active = undefined;
    },
  };
}
