import type { DisplayData, RunError, RunFile } from "@mecha/protocol";
import type { PythonRunnerSource } from "./pythonRunner";

/** Slots of the shared control array (an `Int32Array` over a `SharedArrayBuffer`). */
export const CONTROL = {
  /** 1 once the page asked the running program to stop; the worker clears it per run. */
  STOP: 0,
  /** The stdin handshake, one of the `STDIN_*` states. */
  STDIN: 1,
  /** How many bytes of the stdin buffer the page filled. */
  LENGTH: 2,
} as const;
export const CONTROL_SLOTS = 4;

export const STDIN_IDLE = 0;
/** The worker is blocked in `Atomics.wait` until the page answers. */
export const STDIN_WAITING = 1;
/** The stdin buffer holds `LENGTH` bytes for the worker. */
export const STDIN_READY = 2;
/** The page closed stdin. */
export const STDIN_EOF = 3;
/** Bytes handed over per stdin handshake; longer input takes several. */
export const STDIN_CAPACITY = 64 * 1024;

/** The buffers page and worker share when the page is cross-origin isolated. */
export interface SharedBuffers {
  control: SharedArrayBuffer;
  /** Pyodide's interrupt buffer: writing 2 (SIGINT) raises `KeyboardInterrupt`. */
  interrupt: SharedArrayBuffer;
  stdin: SharedArrayBuffer;
}

/** Views of the shared buffers, as page and worker read and write them. */
export interface SharedViews {
  control: Int32Array;
  interrupt: Uint8Array;
  stdin: Uint8Array;
}

export function viewsOf(buffers: SharedBuffers): SharedViews {
  return {
    control: new Int32Array(buffers.control),
    interrupt: new Uint8Array(buffers.interrupt),
    stdin: new Uint8Array(buffers.stdin),
  };
}

/** One program for the worker to run. */
export interface RunJob {
  id: string;
  code: string;
  files: RunFile[];
  args: string[];
  /** Standard input available at the start. */
  stdin: string;
  /** `"closed"`: only `stdin`, then end of file. `"wait"`: then ask the page for more. */
  stdinMode: "closed" | "wait";
  /** Report `input()` prompts as `input` events. */
  notify: boolean;
  /** The `EOFError` message when `input()` finds no more input. */
  eofMessage: string;
  /** Cap on stdout and stderr together, in bytes. */
  outputBytes: number;
  /** Load packages the code imports (from `indexURL`) before running it. */
  autoLoadPackages: boolean;
  /** The session the run belongs to (its namespace and folder are kept), if any. */
  session?: string;
}

/** How a program ended, as the worker saw it. */
export interface RunOutcome {
  /** The exit status a process would have had; null when the run was stopped. */
  exitCode: number | null;
  /** The program ended because the page asked it to stop. */
  stopped: boolean;
  error?: RunError;
  /** Output was cut at the cap. */
  truncated: boolean;
  durationMs: number;
  /** The runtime itself broke (e.g. ran out of memory): the worker must be replaced. */
  crashed?: string;
  /** The interpreter may be left in a bad state: replace the worker after this run. */
  recycle?: boolean;
  /** The module an uncaught `ModuleNotFoundError` lacked, when nothing the run could import had it. */
  missing?: MissingModule | null;
}

/** A top-level module the browser's Python does not have. */
export interface MissingModule {
  module: string;
  /** It belongs to CPython's standard library (which Pyodide trims). */
  stdlib: boolean;
}

export type PageMessage =
  | {
      type: "init";
      indexURL: string;
      runner: PythonRunnerSource;
      packages: string[];
      shared: SharedBuffers | null;
    }
  | { type: "run"; job: RunJob }
  | { type: "open-session"; session: string; files: RunFile[]; request: number }
  | { type: "close-session"; session: string }
  | { type: "read-file"; session: string; path: string; request: number };

export interface RuntimeInfo {
  /** The Pyodide version, e.g. `"314.0.7"`. */
  pyodide: string;
  /** The Python version, e.g. `"3.14.2"`. */
  python: string;
  /** How long loading took, in milliseconds. */
  loadMs: number;
}

export type WorkerMessage =
  | ({ type: "ready" } & RuntimeInfo)
  | { type: "load-error"; message: string }
  | { type: "running"; id: string }
  | { type: "output"; id: string; stream: "stdout" | "stderr"; data: string }
  | { type: "input"; id: string; prompt: string }
  | { type: "display"; id: string; data: DisplayData }
  /**
   * The program waits in a read for the page's next stdin; `ask`: a read that input() did not
   * report, which the page reports as an `input` event (no prompt) if it has nothing to hand over.
   */
  | { type: "stdin"; id: string; ask?: boolean }
  | { type: "limit"; id: string }
  | { type: "done"; id: string; outcome: RunOutcome }
  | { type: "fatal"; message: string }
  /**
   * The answer to `open-session` and `read-file`: the file's bytes (null when it is not there),
   * or why it failed.
   */
  | { type: "reply"; request: number; bytes?: Uint8Array | null; error?: string };
