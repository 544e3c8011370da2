import type { HealthResponse, RunPending, RunRequest, RuntimesResponse } from "@mecha/protocol";
import type {
  Backend,
  BackendKind,
  BackendRun,
  ClientRunEvent,
  ClientRunResult,
  StdinOptions,
} from "./backend";
import { callSafely } from "./callSafely";
import {
  type CircuitEvent,
  type ClientState,
  type ConnectionError,
  type ConnectionStatus,
  initialState,
  nextCheckDelay,
  transition,
} from "./circuit";
import { withInternals } from "./clientInternals";
import { AbortedError } from "./errors/AbortedError";
import { currentPage, describeHealthFailure } from "./errors/describeHealthFailure";
import { isMechaError } from "./errors/isMechaError";
import type { MechaError } from "./errors/MechaError";
import { messageOf } from "./errors/messageOf";
import { UnavailableError } from "./errors/UnavailableError";
import { createEventChannel } from "./eventChannel";
import { createHealthMonitor } from "./healthMonitor";
import { linkSignal } from "./linkSignal";
import { createMockBackend } from "./mockBackend";
import { canFallBack, type FallbackKind, mayHaveRun, planBackends } from "./planBackends";
import { type ClientOptions, resolveOptions } from "./resolveOptions";
import { createServerBackend } from "./serverBackend";
import type { Session, SessionOptions } from "./session/createSession";

export interface RunOptions {
  /**
   * Aborting it cancels the run on the server, closes the stream, and rejects with `AbortedError`.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Receives each event as it arrives: `started`, `stdout`, `stderr`, `input`, `display`, `exit`.
   * @default undefined
   */
  onEvent?(event: ClientRunEvent): void;
}

export interface StartOptions {
  /**
   * Aborting it cancels the run on the server, closes the stream, and rejects with `AbortedError`.
   * @default undefined
   */
  signal?: AbortSignal;
}

/** An interactive run in progress. */
export interface RunHandle {
  /**
   * The run's events as they arrive, `input` prompts included, ending after `exit`. Throws the
   * run's error if it fails. Every iteration starts from the first event.
   */
  readonly events: AsyncIterable<ClientRunEvent>;
  /** The run's id, once the backend has reported `started`. */
  readonly id: string | undefined;
  /** The backend running it, once one has started it. */
  readonly backend: BackendKind | undefined;
  /** Settles like `client.run()`: the result for every program outcome, an error otherwise. */
  readonly result: Promise<ClientRunResult>;
  /** Feeds the program's stdin (e.g. answering an `input` prompt); `eof` closes it. */
  sendStdin(data: string, options?: StdinOptions): Promise<void>;
  /**
   * Ends the run. Once it has started (`id` is set), `result` resolves with `status:
   * "cancelled"`. Before that (connecting, waiting to retry, or queued on the server) the
   * request is dropped at once and `result` rejects with an `AbortedError`: there is no result
   * because nothing ran.
   */
  cancel(): Promise<void>;
}

export interface MechaClient {
  /**
   * Runs a program to its end. Resolves for every program outcome (`failed` and `timed_out`
   * are results) with `backend` saying where it ran; rejects with a `MechaError` only when no
   * backend could run the code.
   */
  run(request: RunRequest, options?: RunOptions): Promise<ClientRunResult>;
  /** Starts an interactive run: stream its events, answer `input()` with `sendStdin`. */
  start(request: RunRequest, options?: StartOptions): RunHandle;
  /** Checks `GET /health` now (joining a check in flight) and feeds the result to `status`. */
  checkHealth(): Promise<HealthResponse>;
  /**
   * `unknown` (until a health check succeeds), `online`, `degraded` or `offline` (see
   * {@link ConnectionStatus}).
   */
  readonly status: ConnectionStatus;
  /** The last health body, or null before the first successful check. */
  readonly health: HealthResponse | null;
  /**
   * Why the last health check failed (e.g. `kind: "cors"` when the browser blocked an answer
   * the server gave, `"unreachable"` when nothing answered); null once one succeeds.
   */
  readonly error: ConnectionError | null;
  /**
   * The fallbacks that can take a run when the server cannot, in the order they are tried:
   * `"browser"` only when a `browser` backend was given, empty for `fallback: "none"`.
   */
  readonly fallbacks: readonly FallbackKind[];
  /** Calls `listener` on every state change; returns the function that unsubscribes. */
  subscribe(listener: (state: ClientState) => void): () => void;
  /** Stops health polling, aborts requests in flight, and drops listeners. */
  dispose(): void;
  /**
   * What the server can run (`GET /runtimes`): each language's version, isolation, importable
   * packages, and the limits a request gets by default and may ask for at most.
   * @example
   * const [python] = await client.runtimes();
   * python.packages.some((p) => p.name === "numpy");
   */
  runtimes(options?: { signal?: AbortSignal }): Promise<RuntimesResponse>;
  /**
   * A run on the server by id (`GET /runs/{id}`), e.g. after a reload: its result once it ended
   * (with `backend: "server"`), else `{id, status: "queued" | "running"}`. A run no longer kept,
   * or unknown, rejects with an `HttpError` whose problem code is `not_found`.
   * @example
   * const run = await client.getRun(id);
   * if ("exitCode" in run) show(run.stdout);
   */
  getRun(id: string, options?: { signal?: AbortSignal }): Promise<ClientRunResult | RunPending>;
  /**
   * Opens a session: state kept between runs, as a notebook's cells keep it. The same as
   * `createSession(client, options)` from `@mecha/client/session`, which this loads on first use
   * (so an app that never opens one does not carry it).
   * @example
   * const session = await client.createSession();
   * await session.run("x = 41");
   * (await session.run("x + 1")).displays; // [{ data: { "text/plain": "42" } }]
   */
  createSession(options?: SessionOptions): Promise<Session>;
}

const ignore = () => {};

function toMechaError(error: unknown, kind: BackendKind): MechaError {
  return isMechaError(error)
    ? error
    : new UnavailableError(`The ${kind} backend failed: ${messageOf(error)}`, { cause: error });
}

/**
 * Creates a client for a Mecha server. Nothing happens until first use: the first run, health
 * check or subscription starts health polling, and `dispose()` stops it.
 *
 * @example
 * const client = createClient({ baseUrl: "/api/mecha", fallback: "mock" });
 * const result = await client.run({ language: "python", code: 'print("hi")' });
 * result.backend; // "server", or "mock" while the server is unreachable
 */
export function createClient(options: ClientOptions): MechaClient {
  const config = resolveOptions(options);
  const listeners = new Set<(state: ClientState) => void>();
  const disposal = new AbortController();
  const warned = new Set<string>();
  let state = initialState;
  let browser: Promise<Backend> | undefined;
  const fallbacks = Object.freeze(
    config.fallbacks.filter((kind) => kind === "mock" || config.browser),
  );

  function report(event: CircuitEvent): void {
    const previous = state;
    state = transition(state, event, config.circuit);
    if (state === previous) return;
    for (const listener of [...listeners]) callSafely(listener, state);
    // The first failure after a good spell: check now instead of at the next interval. Not
    // once the circuit is open: the scheduled probe decides when to try the server again.
    if (
      event.type === "failure" &&
      previous.failures === 0 &&
      state.circuit === "closed" &&
      config.checkOnFailure
    ) {
      if (monitor.running) monitor.check().catch(ignore);
    }
  }

  const server = createServerBackend({ ...config, report, features: () => state.health?.features });
  const mock = createMockBackend(config.mock);
  const monitor = createHealthMonitor({
    timers: config.timers,
    check: () => {
      report({ type: "probe" });
      return server.health(disposal.signal).catch(async (error: MechaError) => {
        // The server is there but refuses the client's credentials: say so even when
        // nobody awaits this check.
        if (error.status === 401 || error.status === 403) warn(error);
        if (error.code !== "aborted") {
          const described = await describeHealthFailure(error, currentPage(), () =>
            server.answersWithoutCors(disposal.signal),
          );
          if (!disposal.signal.aborted) report({ type: "error", error: described });
        }
        throw error;
      });
    },
    nextDelay: () => nextCheckDelay(state, config.circuit),
  });

  function use(): void {
    if (!disposal.signal.aborted) monitor.start();
  }

  function warn(warning: MechaError): void {
    if (warned.has(warning.message)) return;
    warned.add(warning.message);
    config.onWarning(warning);
  }

  async function backendFor(kind: BackendKind): Promise<Backend> {
    if (kind === "server") return server;
    if (kind === "mock") return mock;
    const option = config.browser;
    if (!option) {
      throw new UnavailableError('fallback "browser" needs createClient({ browser }).');
    }
    browser ??= (async () => (typeof option === "function" ? option() : option))();
    // A loader that failed is tried again next time.
    return browser.catch((cause) => {
      browser = undefined;
      throw toMechaError(cause, kind);
    });
  }

  function launch(
    request: RunRequest,
    signal: AbortSignal | undefined,
    interactive: boolean,
    onEvent?: (event: ClientRunEvent) => void,
    // A session's run: this backend only, never a fallback (the session's state is there).
    pinned?: { kind: BackendKind; backend: Backend },
  ): RunHandle {
    use();
    const channel = createEventChannel<ClientRunEvent>();
    const controller = new AbortController();
    const unlinkCaller = linkSignal(signal, controller);
    const unlinkDisposal = linkSignal(disposal.signal, controller);
    let cancelled = false;
    // The backend run that the caller's stdin and cancel go to: the latest one started. Before
    // any event it may fail and the next backend take the run over; `moved` then wakes waiters.
    let current: { run: BackendRun; delivered: () => boolean } | undefined;
    let finished = false;
    let wake: () => void = ignore;
    let moved = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const move = () => {
      const waiting = wake;
      moved = new Promise<void>((resolve) => {
        wake = resolve;
      });
      waiting();
    };
    /** The run after `than` once there is one; undefined when the handle ended without one. */
    const runAfter = async (than: typeof current) => {
      while (current === than && !finished) await moved;
      return current === than ? undefined : current;
    };

    const aborted = () => {
      const reason = controller.signal.reason;
      return isMechaError(reason)
        ? reason
        : new AbortedError(
            cancelled ? "The run was cancelled before it started." : "The run was aborted.",
            { cause: reason },
          );
    };

    const handle: { -readonly [K in keyof RunHandle]: RunHandle[K] } = {
      events: channel,
      id: undefined,
      backend: undefined,
      result: undefined as unknown as Promise<ClientRunResult>,
      async sendStdin(data, stdinOptions) {
        for (let target = await runAfter(undefined); ; ) {
          // No backend ever started the run: fail with the reason it did not start.
          if (!target) return handle.result.then(ignore);
          try {
            return await target.run.sendStdin(data, stdinOptions);
          } catch (error) {
            // A backend that failed before any event hands the run on: the stdin goes there.
            if (target.delivered()) throw error;
            const next = await runAfter(target);
            if (!next) throw error;
            target = next;
          }
        }
      },
      async cancel() {
        cancelled = true;
        await current?.run.cancel();
      },
    };

    const check = () => {
      if (cancelled || controller.signal.aborted) throw aborted();
    };

    handle.result = (async (): Promise<ClientRunResult> => {
      const failures: MechaError[] = [];
      const skipped: MechaError[] = [];
      // Once a backend may have run the program, no other real interpreter runs it again.
      let ran = false;
      try {
        for (const kind of pinned ? [pinned.kind] : planBackends(state.circuit, config.fallbacks)) {
          check();
          if (ran && kind !== "mock") continue;
          let backend: Backend;
          try {
            backend = pinned?.backend ?? (await backendFor(kind));
          } catch (error) {
            const skip = toMechaError(error, kind);
            skipped.push(skip);
            warn(skip);
            continue;
          }
          // Loading a backend takes time: the caller may have given up meanwhile.
          check();
          let delivered = false;
          try {
            const run = backend.start(request, {
              signal: controller.signal,
              interactive,
              onEvent(event) {
                delivered = true;
                if (event.type === "started") handle.id = event.id;
                channel.push(event);
                callSafely(onEvent, event);
              },
            });
            handle.backend = kind;
            current = { run, delivered: () => delivered };
            move();
            return { ...(await run.result), backend: kind };
          } catch (error) {
            const failure = toMechaError(error, kind);
            failures.push(failure);
            // An interactive run the caller has seen cannot be silently re-run elsewhere.
            if (!canFallBack(failure) || cancelled || (interactive && delivered)) throw failure;
            ran ||= mayHaveRun(kind, failure, delivered);
          }
        }
        throw failures[0] ?? skipped[0] ?? new UnavailableError("No backend could run the code.");
      } finally {
        unlinkCaller();
        unlinkDisposal();
        finished = true;
        move();
      }
    })();
    handle.result.then(
      () => channel.close(),
      (error: unknown) => channel.fail(error),
    );
    return handle;
  }

  const client: MechaClient = {
    run(request, runOptions = {}) {
      return launch(request, runOptions.signal, false, runOptions.onEvent).result;
    },
    start(request, startOptions = {}) {
      return launch(request, startOptions.signal, true);
    },
    checkHealth() {
      use();
      return monitor.check();
    },
    get status() {
      return state.status;
    },
    get health() {
      return state.health;
    },
    get error() {
      return state.error;
    },
    fallbacks,
    subscribe(listener) {
      listeners.add(listener);
      use();
      return () => {
        listeners.delete(listener);
      };
    },
    runtimes(requestOptions = {}) {
      use();
      return server.runtimes(requestOptions.signal);
    },
    async getRun(id, requestOptions = {}) {
      use();
      const run = await server.getRun(id, requestOptions.signal);
      return "exitCode" in run ? { ...run, backend: "server" } : run;
    },
    async createSession(sessionOptions) {
      // The package's own entry, loaded when first asked for: it stays out of this one.
      const { createSession } = await import("@mecha/client/session");
      return createSession(client, sessionOptions);
    },
    dispose() {
      disposal.abort(new AbortedError("This client was disposed."));
      monitor.stop();
      listeners.clear();
    },
  };
  return withInternals(client, {
    plan() {
      use();
      return planBackends(state.circuit, config.fallbacks);
    },
    backendFor,
    launch,
    server,
  });
}
