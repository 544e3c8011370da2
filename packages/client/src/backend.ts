import type {
  CreateSessionRequest,
  ExitEvent,
  RunEvent,
  RunRequest,
  RunResult,
  RunStatus,
  SessionRunRequest,
} from "@mecha/protocol";

/** Where a run happened: the Mecha server, real Python in the browser, or the labelled mock. */
export type BackendKind = "server" | "browser" | "mock";

/**
 * How a run ended: one of the statuses this version knows, or one a newer server added. A
 * status this version does not know is still a finished run; show it as it is.
 */
export type ClientRunStatus = RunStatus | (string & {});

/** A run's result as the client reads it: a `RunResult` whose `status` may be a newer one. */
export type BackendRunResult = Omit<RunResult, "status"> & { status: ClientRunStatus };

/** A run's result, and which backend produced it. */
export type ClientRunResult = BackendRunResult & {
  /** `"server"`, `"browser"` (real Python in the page) or `"mock"` (simulated, not run). */
  readonly backend: BackendKind;
};

/**
 * An event of a run's stream as the client hands it on: `started`, `stdout`, `stderr`,
 * `input`, `display` (rich output, in order with the text), and `exit` last. Event types a newer
 * server added are skipped; `exit`'s result may carry a newer status.
 */
export type ClientRunEvent =
  | Exclude<RunEvent, { type: "exit" }>
  | (Omit<ExitEvent, "result"> & { result: BackendRunResult });

export interface BackendStartOptions {
  /** Aborted when the caller gives up on the run (its own `signal`, or `client.dispose()`). */
  readonly signal: AbortSignal;
  /**
   * Receives the run's events as they happen: `started` first, then `stdout`, `stderr`,
   * `input` and `display`, and `exit` (with the same result as `BackendRun.result`) last.
   */
  onEvent(event: ClientRunEvent): void;
  /**
   * True for `client.start()`: stdin stays open for `sendStdin` and `input()` calls are reported.
   * False for `client.run()`: stdin is `request.stdin` (or empty) and then closed.
   */
  readonly interactive: boolean;
}

export interface StdinOptions {
  /**
   * Close the program's stdin after this data; `input()` then raises `EOFError`.
   * @default false
   */
  eof?: boolean;
}

/** One run on a backend. */
export interface BackendRun {
  /**
   * Settles once the run ends: resolves with its result for every program outcome, rejects
   * with a `MechaError` when the backend could not run the code.
   */
  readonly result: Promise<BackendRunResult>;
  /** Feeds the program's stdin; `eof` closes it. */
  sendStdin(data: string, options?: StdinOptions): Promise<void>;
  /** Ends the run; its result then has `status: "cancelled"`. */
  cancel(): Promise<void>;
}

/**
 * A session on one backend: an interpreter whose variables, imports and files its runs share,
 * one run at a time.
 */
export interface BackendSession {
  /** The session's id on its backend. */
  readonly id: string;
  /** When the session ends if left idle (ISO 8601), or null where it never expires by itself. */
  readonly expiresAt: string | null;
  /** Runs code in the session, with the same events and result as `Backend.start`. */
  start(request: SessionRunRequest, options: BackendStartOptions): BackendRun;
  /** The bytes of a file in the session's working directory. */
  readFile(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Ends the session and frees what it holds; ending one already gone is not an error. */
  close(): Promise<void>;
}

/**
 * Something that can run a program: the server, the built-in mock, or an in-browser runtime
 * passed as `createClient({ browser })`. The client's state machine decides which one runs a
 * request; a backend only runs it.
 */
export interface Backend {
  start(request: RunRequest, options: BackendStartOptions): BackendRun;
  /**
   * Opens a session (state kept between runs). A backend without it takes no sessions: the
   * client then tries the next one.
   */
  createSession?(request: CreateSessionRequest, signal: AbortSignal): Promise<BackendSession>;
}
