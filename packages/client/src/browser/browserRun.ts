import type { Display, RunRequest, RunResult } from "@mecha/protocol";
import type { ClientRunEvent } from "../backend";
import type { SessionBinding } from "./browserSessions";
import type { BrowserLimits } from "./toRunJob";
import type { StopReason } from "./toRunResult";
import {
  CONTROL,
  type SharedViews,
  STDIN_CAPACITY,
  STDIN_EOF,
  STDIN_READY,
} from "./workerProtocol";
import type { WorkerRuntime } from "./workerRuntime";

/** One run on the browser backend, from the queue to its result. */
export interface BrowserRun {
  id: string;
  request: RunRequest;
  interactive: boolean;
  onEvent(event: ClientRunEvent): void;
  /** The session the run belongs to, if any: it runs in that session's worker only. */
  session?: SessionBinding | undefined;
  /** Rich output, in order. */
  displays: Display[];
  signal: AbortSignal;
  phase: "queued" | "loading" | "running" | "done";
  runtime?: WorkerRuntime;
  limits: BrowserLimits;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** Stdin the page was given and the worker has not taken yet. */
  stdin: Uint8Array[];
  stdinEof: boolean;
  /** The program waits in a read for the page's next stdin. */
  wantsStdin: boolean;
  startedAt?: number;
  stopReason?: StopReason;
  /** Set when the run ends without a result: the caller's signal aborted, or nothing ran. */
  aborted?: string;
  timers: unknown[];
  resolve(result: RunResult): void;
  reject(error: unknown): void;
}

/** A queued run and the promise of its result. */
export function createBrowserRun(
  fields: Pick<
    BrowserRun,
    "id" | "request" | "interactive" | "onEvent" | "signal" | "limits" | "session"
  >,
): { run: BrowserRun; result: Promise<RunResult> } {
  const run: BrowserRun = {
    ...fields,
    phase: "queued",
    stdout: "",
    stderr: "",
    displays: [],
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
  return { run, result };
}

/**
 * Hands the run's pending stdin (or its end) to a worker blocked in a read, through shared
 * memory: as much as fits in one hand-over, the rest at the next read.
 */
export function deliverStdin(run: BrowserRun): void {
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

/** The stdin given so far as text, taken from the run (for a job that gets it up front). */
export function takeQueuedStdin(run: BrowserRun): string {
  const decoder = new TextDecoder();
  const text = run.stdin.map((chunk) => decoder.decode(chunk, { stream: true })).join("");
  run.stdin = [];
  return text + decoder.decode();
}

/**
 * Asks the program in the worker to stop: the stop flag (which wakes a read or a sleep), and
 * SIGINT through Pyodide's interrupt buffer, which raises `KeyboardInterrupt` in the program.
 */
export function interruptProgram(views: SharedViews): void {
  Atomics.store(views.control, CONTROL.STOP, 1);
  Atomics.notify(views.control, CONTROL.STOP);
  Atomics.notify(views.control, CONTROL.STDIN);
  Atomics.store(views.interrupt, 0, 2);
}
