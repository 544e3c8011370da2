import type { RunEvent, RunRequest, RunStatus } from "@mecha/protocol";
import type { BackendKind, ClientRunEvent, ClientRunResult } from "../backend";
import { callSafely } from "../callSafely";
import type { MechaClient, RunHandle } from "../createClient";
import { createTerminalBuffer, type TerminalBuffer } from "./createTerminalBuffer";

/**
 * Where a run is: not started, waiting for a backend, running, one of the protocol's end
 * statuses, or `error` when no backend could run the code at all.
 */
export type RunState =
  | "idle"
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "timed_out"
  | "memory_exceeded"
  | "output_exceeded"
  | "cancelled"
  | "lost"
  | "error";

/** The run states in which a program is still going. */
export function isActiveRunState(state: RunState): state is "queued" | "running" {
  return state === "queued" || state === "running";
}

export interface RunSnapshot {
  readonly state: RunState;
  /** The prompt of a pending `input()` call, or null when the program is not waiting. */
  readonly prompt: string | null;
  readonly result: ClientRunResult | null;
  /** Why no backend could run the code (state `error`). */
  readonly error: Error | null;
  /** The backend running or that ran the program, once known. */
  readonly backend: BackendKind | null;
  /** The run's id, once the backend has assigned one. */
  readonly runId: string | null;
}

export interface RunStoreOptions {
  /**
   * Called for every event of the run's stream. An `exit` event's `result.status` may be one a
   * newer server added (see `ClientRunStatus`), whatever its type says.
   */
  onEvent?: ((event: RunEvent) => void) | undefined;
  /**
   * Called when the current run ends, whatever its status; never for a run that a newer one
   * replaced or that `reset` abandoned.
   */
  onResult?: ((outcome: ClientRunResult) => void) | undefined;
  /** Called when no backend could run the current run's code (state `error`). */
  onError?: ((error: Error) => void) | undefined;
  /**
   * Empty the transcript when a new run starts.
   * @default true
   */
  clearOnStart?: boolean | undefined;
  /**
   * The transcript's line cap (see `TerminalBufferOptions.maxLines`). Read once, when the store
   * is created; `setOptions` does not change it.
   * @default Infinity
   */
  maxLines?: number | undefined;
}

/**
 * One run's UI state: where the run is, its prompt and outcome, as an observable snapshot, plus
 * its terminal transcript. One run at a time: starting a new run stops the previous one.
 * Framework-free; `useRun` in `@mecha/react` binds it to React. Not a session of the server: it
 * keeps no interpreter state between runs.
 */
export interface RunStore {
  readonly output: TerminalBuffer;
  getSnapshot(): RunSnapshot;
  subscribe(listener: () => void): () => void;
  /**
   * Runs `req` on `client`, streaming into `output`; resolves with the outcome, rejects with the
   * client's error. Anything with the client's `start` will do, e.g. an adapter that starts the
   * run in a session.
   */
  execute(client: Pick<MechaClient, "start">, req: RunRequest): Promise<ClientRunResult>;
  /**
   * Asks the backend to end the current run; it then ends as `cancelled`. When the backend
   * could not be asked (out of reach), the store stops following the run and is in `error` with
   * that failure: the run may still be going there.
   */
  stop(): Promise<void>;
  /**
   * Answers a pending `input()`: the text is echoed into the transcript and sent with a newline.
   * If sending fails, the transcript says so and why, the prompt comes back, and this rejects.
   */
  sendInput(text: string): Promise<void>;
  /**
   * Closes the program's stdin (as Ctrl+D does), so a pending `input()` raises EOFError. Fails
   * like `sendInput`.
   */
  sendEof(): Promise<void>;
  /** Stops any run, clears the transcript and returns to `idle`. */
  reset(): void;
  setOptions(options: RunStoreOptions): void;
}

const ENDED: ReadonlySet<string> = new Set<RunStatus>([
  "succeeded",
  "failed",
  "timed_out",
  "memory_exceeded",
  "output_exceeded",
  "cancelled",
  "lost",
]);

/**
 * The state of an ended run: its status, or `failed` for a status a newer server added (the
 * run ended, and not as `succeeded`); `result.status` keeps it as the server sent it.
 */
function stateOf(status: ClientRunResult["status"]): RunState {
  return ENDED.has(status) ? (status as RunStatus) : "failed";
}

const IDLE: RunSnapshot = {
  state: "idle",
  prompt: null,
  result: null,
  error: null,
  backend: null,
  runId: null,
};

interface ActiveRun {
  controller: AbortController;
  handle: RunHandle | null;
  stopping: boolean;
  /** Why the backend could not be asked to stop the run (it may still be running there). */
  stopFailed?: Error;
}

class Store implements RunStore {
  readonly output: TerminalBuffer;
  private snapshot: RunSnapshot = IDLE;
  private listeners = new Set<() => void>();
  private active: ActiveRun | null = null;
  /** The run the transcript and snapshot belong to, also after it ended; null after `reset`. */
  private shown: ActiveRun | null = null;
  private options: RunStoreOptions;

  constructor(options: RunStoreOptions = {}) {
    this.options = options;
    this.output = createTerminalBuffer({ maxLines: options.maxLines });
  }

  getSnapshot = (): RunSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  setOptions(options: RunStoreOptions): void {
    this.options = options;
  }

  async execute(client: Pick<MechaClient, "start">, req: RunRequest): Promise<ClientRunResult> {
    this.abandon();
    const run: ActiveRun = { controller: new AbortController(), handle: null, stopping: false };
    this.active = run;
    this.shown = run;
    if (this.options.clearOnStart !== false) this.output.clear();
    this.set({ ...IDLE, state: "queued" });

    let streamed = false;
    try {
      const handle = client.start(req, { signal: run.controller.signal });
      run.handle = handle;
      // Attach a handler now: the result may settle while events are still being read.
      handle.result.catch(() => {});
      if (handle.backend) this.update(run, { backend: handle.backend });
      try {
        for await (const event of handle.events) {
          if (this.active !== run) break;
          if (event.type === "stdout" || event.type === "stderr" || event.type === "display") {
            streamed = true;
          }
          this.apply(run, event);
          this.options.onEvent?.(event as RunEvent);
        }
      } catch {
        // A broken stream still ends in `result`, which says what happened.
      }
      const result = await handle.result;
      if (this.active === run) {
        if (!streamed) {
          if (result.stdout) this.output.write("stdout", result.stdout);
          if (result.stderr) this.output.write("stderr", result.stderr);
          for (const display of result.displays ?? []) this.output.writeDisplay(display);
        }
        this.active = null;
        this.set({
          state: stateOf(result.status),
          prompt: null,
          result,
          error: null,
          backend: result.backend,
          runId: result.id,
        });
        callSafely(this.options.onResult, result);
      }
      return result;
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      if (this.active === run) {
        this.active = null;
        // A stop the backend never heard is no stop: the run may still be going there.
        const failure = run.stopFailed ?? (run.stopping ? null : error);
        this.set({
          ...this.snapshot,
          state: failure ? "error" : "cancelled",
          prompt: null,
          error: failure ?? error,
        });
        if (failure) callSafely(this.options.onError, failure);
      }
      throw error;
    }
  }

  async stop(): Promise<void> {
    const run = this.active;
    if (!run || run.stopping) return;
    run.stopping = true;
    if (!run.handle) {
      run.controller.abort();
      return;
    }
    try {
      await run.handle.cancel();
    } catch (cause) {
      // The backend is out of reach (a run that ended meanwhile is no failure): stop waiting
      // for it, and say the stop was not heard.
      run.stopFailed = cause instanceof Error ? cause : new Error(String(cause));
      run.controller.abort();
    }
  }

  async sendInput(text: string): Promise<void> {
    await this.sendStdin(text, `${text}\n`, false, "Your input could not be sent");
  }

  async sendEof(): Promise<void> {
    await this.sendStdin("", "", true, "The program's input could not be closed");
  }

  /**
   * Echoes first, so the program's reply lands after the answer in the transcript. A failure is
   * written under the echo, and the prompt comes back so the user can try again.
   */
  private async sendStdin(echo: string, data: string, eof: boolean, failure: string) {
    const run = this.active;
    if (!run?.handle) throw new Error("There is no running program to send input to.");
    const prompt = this.snapshot.prompt;
    this.output.echoInput(echo);
    this.update(run, { prompt: null });
    try {
      await run.handle.sendStdin(data, eof ? { eof: true } : undefined);
    } catch (cause) {
      if (this.shown === run) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        this.output.write("info", `${failure}: ${reason}\n`);
        if (this.active === run && this.snapshot.prompt === null && prompt !== null) {
          this.update(run, { prompt });
        }
      }
      throw cause;
    }
  }

  reset(): void {
    this.abandon();
    this.shown = null;
    this.output.clear();
    this.set(IDLE);
  }

  /** Stops the current run (if any) and ignores whatever it still reports. */
  private abandon(): void {
    const run = this.active;
    if (!run) return;
    this.active = null;
    run.stopping = true;
    if (run.handle) run.handle.cancel().catch(() => run.controller.abort());
    else run.controller.abort();
  }

  private apply(run: ActiveRun, event: ClientRunEvent): void {
    switch (event.type) {
      case "started":
        // The backend is known once one has started the run (a fallback, maybe).
        this.update(run, {
          state: "running",
          runId: event.id,
          backend: run.handle?.backend ?? this.snapshot.backend,
        });
        break;
      case "stdout":
      case "stderr":
        this.output.write(event.type, event.data);
        if (this.snapshot.state === "queued") this.update(run, { state: "running" });
        break;
      case "display":
        this.output.writeDisplay(
          event.metadata ? { data: event.data, metadata: event.metadata } : { data: event.data },
        );
        if (this.snapshot.state === "queued") this.update(run, { state: "running" });
        break;
      case "input":
        this.update(run, { state: "running", prompt: event.prompt });
        break;
      case "exit":
        break;
    }
  }

  private update(run: ActiveRun, patch: Partial<RunSnapshot>): void {
    if (this.active !== run) return;
    this.set({ ...this.snapshot, ...patch });
  }

  private set(snapshot: RunSnapshot): void {
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener();
  }
}

/**
 * Creates the UI state of one run at a time (see {@link RunStore}); React apps use `useRun`.
 * @example
 * const store = createRunStore();
 * store.subscribe(() => render(store.getSnapshot(), store.output.lines));
 * await store.execute(client, { language: "python", code: 'print("hi")' });
 */
export function createRunStore(options?: RunStoreOptions): RunStore {
  return new Store(options);
}
