import type { RunFile } from "@mecha/protocol";
import { missingModuleNote } from "./missingModuleNote";
import { createOutputChannel, type OutputChannel } from "./outputChannel";
import { parseTraceback } from "./parseTraceback";
import type { PythonRunnerSource } from "./pythonRunner";
import {
  CONTROL,
  type RunJob,
  type RunOutcome,
  type SharedViews,
  STDIN_EOF,
  STDIN_IDLE,
  STDIN_READY,
  STDIN_WAITING,
  type WorkerMessage,
} from "./workerProtocol";

/** A Python function as Pyodide hands it to JavaScript. */
interface PyCallable {
  (...args: unknown[]): unknown;
  destroy?(): void;
}

/** A Python `dict` as Pyodide hands it to JavaScript. */
interface PyDict {
  set(key: string, value: unknown): void;
  get(key: string): unknown;
}

/** The part of the Pyodide API the engine uses. */
export interface PyodideLike {
  version: string;
  runPython(code: string, options?: { globals?: unknown; filename?: string }): unknown;
  setStdout(options: { write(buffer: Uint8Array): number; isatty?: boolean }): void;
  setStderr(options: { write(buffer: Uint8Array): number; isatty?: boolean }): void;
  setInterruptBuffer(buffer: Uint8Array): void;
  loadPackagesFromImports(
    code: string,
    options?: {
      messageCallback?: (message: string) => void;
      errorCallback?: (message: string) => void;
    },
  ): Promise<unknown>;
  globals: { get(name: string): unknown };
  /** The distribution's `pyodide-lock.json`: its packages and the modules each provides. */
  lockfile?: { packages: Record<string, { name: string; imports: string[] }> };
}

export interface PythonEngineOptions {
  pyodide: PyodideLike;
  /** The runner's Python (`PYTHON_RUNNER`). */
  runner: PythonRunnerSource;
  /** Sends a message to the page. */
  post(message: WorkerMessage): void;
  /** The shared memory views, when the page is cross-origin isolated. */
  shared?: SharedViews | undefined;
  /** The packages loaded with the interpreter (`packages`), to explain one that did not load. */
  packages?: readonly string[];
  /** @default performance.now */
  now?: () => number;
}

export interface PythonEngine {
  /** Runs one job to its end, posting `running`, output, prompts, displays and `done`. */
  run(job: RunJob): Promise<void>;
  /** Opens a session: a namespace and a folder its runs keep, with `files` written into it. */
  openSession(id: string, files: readonly RunFile[]): void;
  closeSession(id: string): void;
  /** A file of a session's folder, or null when there is none at `path`. */
  readFile(id: string, path: string): Uint8Array | null;
  /** The interpreter's Python version, e.g. `"3.14.2"`. */
  readonly python: string;
}

const MAIN_PATH = "/workspace/main.py";
// How long one Atomics.wait lasts before the worker looks at the stop flag again.
const WAIT_SLICE_MS = 250;

function isPythonError(error: unknown): error is Error & { type: string } {
  return (
    error instanceof Error &&
    (error.constructor?.name === "PythonError" || error.name === "PythonError") &&
    typeof (error as { type?: unknown }).type === "string"
  );
}

/**
 * Runs programs in one Pyodide interpreter, in the worker that owns it (also usable in Node for
 * tests). Everything the program sees of the outside world goes through the `host` bridge
 * given to the Python runner: stdin, `input()` prompts, interruptible sleep and stop requests.
 */
export function createPythonEngine(options: PythonEngineOptions): PythonEngine {
  const { pyodide, post, shared } = options;
  const now = options.now ?? (() => performance.now());
  let output: OutputChannel | undefined;

  const writer = (stream: "stdout" | "stderr") => ({
    write(buffer: Uint8Array): number {
      output?.push(stream, buffer);
      return buffer.length;
    },
    isatty: false,
  });
  pyodide.setStdout(writer("stdout"));
  pyodide.setStderr(writer("stderr"));
  if (shared) pyodide.setInterruptBuffer(shared.interrupt);

  const namespace = (pyodide.globals.get("dict") as PyCallable)() as PyDict;
  // The runner loads this into a namespace of its own (never into sys.modules).
  namespace.set("RUN_ERROR_SOURCE", options.runner.runError);
  const api = pyodide.runPython(options.runner.source, {
    globals: namespace,
    filename: "<mecha>",
  }) as PyDict;
  const runner = api.get("run") as PyCallable;
  const call = (name: string, ...args: unknown[]) => (api.get(name) as PyCallable)(...args);
  const python = String(
    pyodide.runPython("import sys; '.'.join(map(str, sys.version_info[:3]))", {
      globals: namespace,
    }),
  );

  const stopRequested = () => (shared ? Atomics.load(shared.control, CONTROL.STOP) === 1 : false);
  // The program is about to raise KeyboardInterrupt itself; a pending interrupt would raise a
  // second one inside its clean-up.
  const takeStop = () => {
    if (!shared || !stopRequested()) return false;
    Atomics.store(shared.interrupt, 0, 0);
    return true;
  };

  function makeHost(job: RunJob, channel: OutputChannel) {
    let upfront: string | undefined = job.stdin;
    let open = job.stdinMode === "wait" && shared !== undefined;
    const decoder = new TextDecoder();

    function waitForStdin(views: SharedViews, ask: boolean): string | undefined {
      const { control } = views;
      for (let first = true; ; first = false) {
        Atomics.store(control, CONTROL.STDIN, STDIN_WAITING);
        post({ type: "stdin", id: job.id, ...(ask && first ? { ask: true } : {}) });
        while (
          Atomics.load(control, CONTROL.STDIN) === STDIN_WAITING &&
          Atomics.load(control, CONTROL.STOP) === 0
        ) {
          Atomics.wait(control, CONTROL.STDIN, STDIN_WAITING, WAIT_SLICE_MS);
        }
        if (takeStop()) return undefined;
        const state = Atomics.load(control, CONTROL.STDIN);
        Atomics.store(control, CONTROL.STDIN, STDIN_IDLE);
        if (state === STDIN_READY) {
          // A copy: TextDecoder does not read shared memory.
          const bytes = views.stdin.slice(0, Atomics.load(control, CONTROL.LENGTH));
          const text = decoder.decode(bytes, { stream: true });
          if (text) return text;
          continue;
        }
        if (state === STDIN_EOF) {
          open = false;
          return decoder.decode() || undefined;
        }
      }
    }

    return {
      canSleep: shared !== undefined,
      stopped: stopRequested,
      flush: () => channel.flush(),
      input(prompt: string) {
        channel.flush();
        post({ type: "input", id: job.id, prompt });
      },
      display(json: string) {
        channel.flush();
        post({ type: "display", id: job.id, data: JSON.parse(json) });
      },
      /** The next stdin; `ask`: report the wait as an `input` event (see the `stdin` message). */
      read(ask = false): string | undefined {
        if (upfront !== undefined) {
          const text = upfront;
          upfront = undefined;
          if (text) return text;
        }
        if (!open || !shared) return undefined;
        channel.flush();
        return waitForStdin(shared, ask === true);
      },
      /** Sleeps `ms`, waking early on a stop request; true when stopped. */
      sleep(ms: number): boolean {
        if (!shared) return false;
        const deadline = now() + ms;
        for (let left = ms; left > 0 && !stopRequested(); left = deadline - now()) {
          Atomics.wait(shared.control, CONTROL.STOP, 0, Math.min(left, WAIT_SLICE_MS));
        }
        return takeStop();
      },
    };
  }

  async function run(job: RunJob): Promise<void> {
    if (shared) {
      Atomics.store(shared.control, CONTROL.STOP, 0);
      Atomics.store(shared.control, CONTROL.STDIN, STDIN_IDLE);
      Atomics.store(shared.interrupt, 0, 0);
    }
    let limitReached = false;
    const channel = createOutputChannel({
      limit: job.outputBytes,
      now,
      emit: (stream, data) => post({ type: "output", id: job.id, stream, data }),
      onLimit: () => {
        limitReached = true;
        post({ type: "limit", id: job.id });
      },
    });
    output = channel;
    const outcome: RunOutcome = { exitCode: 0, stopped: false, truncated: false, durationMs: 0 };
    const stderr = (text: string) => channel.push("stderr", new TextEncoder().encode(text));
    let loadFailed = false;
    if (job.autoLoadPackages) {
      await pyodide
        .loadPackagesFromImports(job.code, {
          messageCallback: () => {},
          errorCallback: (message) => {
            loadFailed = true;
            stderr(`${message}\n`);
          },
        })
        .catch(() => {});
    }
    post({ type: "running", id: job.id });
    const started = now();
    let measured: number | undefined;
    try {
      const answer = JSON.parse(String(runner(JSON.stringify(job), makeHost(job, channel))));
      measured = answer.durationMs;
      Object.assign(outcome, answer as Partial<RunOutcome>);
    } catch (error) {
      // The runner itself failed: the program broke the interpreter, or the runtime crashed.
      outcome.recycle = true;
      if (isPythonError(error)) {
        if (error.type === "KeyboardInterrupt" && stopRequested()) {
          outcome.stopped = true;
          outcome.exitCode = null;
        } else {
          outcome.exitCode = 1;
          outcome.error = parseTraceback(error.message, MAIN_PATH);
          stderr(outcome.error.traceback);
        }
      } else {
        outcome.exitCode = null;
        outcome.crashed = (error as Error)?.message ?? String(error);
      }
    }
    if (outcome.missing) {
      const { module } = outcome.missing;
      const found = Object.values(pyodide.lockfile?.packages ?? {}).find((entry) =>
        entry.imports.includes(module),
      )?.name;
      const tried = found !== undefined && (loadFailed || !!options.packages?.includes(found));
      stderr(missingModuleNote(outcome.missing, { package: found, loadFailed: tried }));
    }
    // The program's own time (the runner measures it, leaving out set-up and clean-up).
    outcome.durationMs = typeof measured === "number" ? measured : now() - started;
    channel.finish();
    output = undefined;
    outcome.truncated = channel.truncated || limitReached;
    post({ type: "done", id: job.id, outcome });
  }

  return {
    run,
    python,
    openSession: (id, files) => call("open_session", id, JSON.stringify(files)),
    closeSession: (id) => call("close_session", id),
    readFile(id, path) {
      const base64 = call("read_file", id, path) as string | undefined;
      return typeof base64 === "string"
        ? Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))
        : null;
    },
  };
}
