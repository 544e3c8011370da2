import type { RunEvent, RunRequest, RunResult } from "@mecha/protocol";

/** Where a run happened: the Mecha server, real Python in the browser, or the labelled mock. */
export type BackendKind = "server" | "browser" | "mock";

export interface BackendStartOptions {
  /** Aborted when the caller gives up on the run (its own `signal`, or `client.dispose()`). */
  readonly signal: AbortSignal;
  /**
   * Receives the run's events as they happen: `started` first, then `stdout`, `stderr` and
   * `input`, and `exit` (with the same result as `BackendRun.result`) last.
   */
  onEvent(event: RunEvent): void;
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
  readonly result: Promise<RunResult>;
  /** Feeds the program's stdin; `eof` closes it. */
  sendStdin(data: string, options?: StdinOptions): Promise<void>;
  /** Ends the run; its result then has `status: "cancelled"`. */
  cancel(): Promise<void>;
}

/**
 * Something that can run a program: the server, the built-in mock, or an in-browser runtime
 * passed as `createClient({ browser })`. The client's state machine decides which one runs a
 * request; a backend only runs it.
 */
export interface Backend {
  start(request: RunRequest, options: BackendStartOptions): BackendRun;
}
