import type { Display, HealthResponse, RunRequest, RuntimesResponse } from "@mecha/protocol";
import type { ClientRunEvent } from "../src/backend";
import type {
  BackendKind,
  ClientState,
  ConnectionStatus as ClientStatus,
  ConnectionError,
  FallbackKind,
  MechaClient,
  RunHandle,
  ClientRunResult as RunOutcome,
} from "../src/index";

/** Controls one fake run from a test's script. */
export interface FakeRun {
  readonly request: RunRequest;
  readonly signal: AbortSignal;
  stdout(data: string): void;
  stderr(data: string): void;
  /** Emits rich output (a plot, a table), in order with the text; the result lists it too. */
  display(display: Display): void;
  /** Emits an `input` event and resolves with the line the UI sends (without its newline). */
  input(prompt: string): Promise<string>;
  /** Resolves when the UI asks to cancel. */
  cancelled: Promise<void>;
  /** Stdin chunks received so far. */
  readonly stdin: Array<{ data: string; eof: boolean }>;
}

// biome-ignore lint/suspicious/noConfusingVoidType: scripts may simply return nothing
export type FakeScript = (run: FakeRun) => Promise<Partial<RunOutcome> | void>;

export interface FakeClient extends MechaClient {
  /** Where runs may fall back to, as the client reports it (see `createFakeClient`). */
  readonly fallbacks: readonly FallbackKind[];
  /** Changes the status (and, when given, why the last health check failed). */
  setStatus(status: ClientStatus, error?: ConnectionError | null): void;
  /** Every request given to `start` or `run`. */
  readonly requests: RunRequest[];
  /** How many health checks ran. */
  readonly healthChecks: number;
  /** The script the next runs follow. */
  script: FakeScript;
  backend: BackendKind;
  /** Makes the next runs reject as if no backend could run the code. */
  failWith: Error | null;
  /**
   * Whether `cancel()` ends a run at once. False: the run goes on to its script's end, like a
   * backend that never hears the cancel.
   * @default true
   */
  honoursCancel: boolean;
  /** Makes `sendStdin` reject with this error (and not deliver the data). */
  stdinFailure: Error | null;
  /** Holds `sendStdin` until this settles, then it succeeds or fails per `stdinFailure`. */
  stdinGate: Promise<void> | null;
  disposed: boolean;
}

function outcome(
  partial: Partial<RunOutcome>,
  stdout: string,
  stderr: string,
  backend: BackendKind,
): RunOutcome {
  return {
    id: "run-1",
    language: "python",
    status: "succeeded",
    exitCode: 0,
    signal: null,
    stdout,
    stderr,
    truncated: false,
    durationMs: 42,
    cpuTimeMs: 30,
    memoryKb: 9_000,
    backend,
    ...partial,
  };
}

const HEALTH: HealthResponse = {
  status: "ok",
  version: "0.0.0-test",
  protocol: 1,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "sandbox" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 4, maxQueued: 16 },
  uptimeMs: 1000,
};

const RUNTIMES: RuntimesResponse = [
  {
    ...HEALTH.runtimes[0]!,
    packages: [],
    limits: {
      defaults: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
      maxima: { timeoutMs: 60_000, memoryMb: 1024, outputBytes: 10 << 20 },
    },
  },
];

/** An async queue of events the UI reads with `for await`. */
function eventQueue() {
  const items: ClientRunEvent[] = [];
  let done = false;
  let wake: (() => void) | null = null;
  return {
    push(event: ClientRunEvent) {
      items.push(event);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<ClientRunEvent> {
      while (true) {
        if (items.length > 0) {
          yield items.shift()!;
          continue;
        }
        if (done) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    },
  };
}

/**
 * A client double that follows `script`: no network, fully in the test's hands. For the tests of
 * what builds on a client (the run store here, the components of `@mecha/react`).
 */
export function createFakeClient(
  options: {
    status?: ClientStatus;
    script?: FakeScript;
    /**
     * The client's `fallbacks`; null leaves the field out, like a client double of a host's own
     * that does not implement it.
     * @default []
     */
    fallbacks?: readonly FallbackKind[] | null;
  } = {},
): FakeClient {
  const listeners = new Set<(state: ClientState) => void>();
  let status: ClientStatus = options.status ?? "online";
  let error: ConnectionError | null = null;
  let healthChecks = 0;
  let runCount = 0;

  const client: FakeClient = {
    requests: [],
    script: options.script ?? (async (run) => run.stdout("hello\n")),
    fallbacks: options.fallbacks ?? [],
    backend: "server",
    failWith: null,
    honoursCancel: true,
    stdinFailure: null,
    stdinGate: null,
    disposed: false,
    get status() {
      return status;
    },
    get health() {
      return null;
    },
    get error() {
      return error;
    },
    get healthChecks() {
      return healthChecks;
    },
    setStatus(next, nextError = null) {
      status = next;
      error = nextError;
      const state = {
        status,
        circuit: "closed",
        failures: 0,
        runFailures: 0,
        health: HEALTH,
        error,
      } as ClientState;
      for (const listener of listeners) listener(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async checkHealth() {
      healthChecks++;
      return HEALTH;
    },
    dispose() {
      client.disposed = true;
    },
    start(request, opts = {}): RunHandle {
      client.requests.push(request);
      const id = `run-${++runCount}`;
      const queue = eventQueue();
      const controller = new AbortController();
      opts.signal?.addEventListener("abort", () => controller.abort());
      let stdout = "";
      let stderr = "";
      const displays: Display[] = [];
      const stdin: FakeRun["stdin"] = [];
      let answer: ((line: string) => void) | null = null;
      let onCancel: () => void = () => {};
      const cancelled = new Promise<void>((resolve) => {
        onCancel = resolve;
      });
      const backend = client.backend;
      const failure = client.failWith;
      const fake: FakeRun = {
        request,
        signal: controller.signal,
        stdout(data) {
          stdout += data;
          queue.push({ type: "stdout", data });
        },
        stderr(data) {
          stderr += data;
          queue.push({ type: "stderr", data });
        },
        display(display) {
          displays.push(display);
          queue.push({ type: "display", ...display });
        },
        input(prompt) {
          if (prompt) fake.stdout(prompt);
          queue.push({ type: "input", prompt });
          return new Promise((resolve) => {
            answer = resolve;
          });
        },
        cancelled,
        stdin,
      };
      const result = (async (): Promise<RunOutcome> => {
        await Promise.resolve();
        if (failure) {
          queue.end();
          throw failure;
        }
        queue.push({ type: "started", id });
        const partial = await Promise.race([
          client.script(fake).then((value) => value ?? {}),
          cancelled.then(() => ({
            status: "cancelled" as const,
            exitCode: null,
            signal: "SIGKILL",
          })),
        ]);
        const final = outcome(
          { id, ...(displays.length > 0 ? { displays } : {}), ...partial },
          stdout,
          stderr,
          backend,
        );
        queue.push({ type: "exit", result: final });
        queue.end();
        return final;
      })();
      result.catch(() => {});
      return {
        events: queue,
        result,
        backend,
        id,
        async sendStdin(data, stdinOptions = {}) {
          if (client.stdinGate) await client.stdinGate;
          if (client.stdinFailure) throw client.stdinFailure;
          stdin.push({ data, eof: stdinOptions.eof ?? false });
          const line = answer;
          answer = null;
          line?.(data.replace(/\n$/, ""));
        },
        async cancel() {
          if (client.honoursCancel) onCancel();
        },
      };
    },
    async run(request, opts) {
      const handle = client.start(request, opts);
      for await (const event of handle.events) opts?.onEvent?.(event);
      return handle.result;
    },
    async runtimes() {
      return RUNTIMES;
    },
    async getRun(id) {
      throw new Error(`The fake client keeps no runs; asked for ${id}.`);
    },
    async createSession() {
      throw new Error("The fake client opens no sessions.");
    },
  };
  if (options.fallbacks === null) delete (client as { fallbacks?: unknown }).fallbacks;
  return client;
}

/** A promise with its resolver, for scripts that wait on the test. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
