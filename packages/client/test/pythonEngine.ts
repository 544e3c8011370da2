import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll } from "vitest";
import { createPythonEngine, type PythonEngine } from "../src/browser/createPythonEngine";
import { PYTHON_RUNNER } from "../src/browser/pythonRunner";
import { EOF_MESSAGE } from "../src/browser/toRunJob";
import { toRunResult } from "../src/browser/toRunResult";
import {
  CONTROL_SLOTS,
  type RunJob,
  type RunOutcome,
  type SharedViews,
  STDIN_CAPACITY,
  type WorkerMessage,
} from "../src/browser/workerProtocol";

const require = createRequire(import.meta.url);
const indexURL = `${dirname(require.resolve("pyodide/package.json"))}/`;

export function job(code: string, extra: Partial<RunJob> = {}): RunJob {
  return {
    id: `run_${Math.random().toString(36).slice(2)}`,
    code,
    files: [],
    args: [],
    stdin: "",
    stdinMode: "closed",
    notify: false,
    eofMessage: EOF_MESSAGE,
    outputBytes: 1 << 20,
    autoLoadPackages: false,
    ...extra,
  };
}

/** Loads the engine for a test file; `post` is where it sends its messages. */
export type LoadEngine = (
  post: (message: WorkerMessage) => void,
  shared: SharedViews,
) => Promise<PythonEngine>;

/** The npm `pyodide` package's own files, as the tests' default. */
const loadFromNpmPackage: LoadEngine = async (post, shared) => {
  const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);
  const pyodide = await loadPyodide({ indexURL });
  return createPythonEngine({ pyodide, runner: PYTHON_RUNNER, shared, post });
};

/**
 * The worker's engine on real Pyodide, in Node, loaded once for a test file (from the npm
 * package, unless `load` says otherwise). `run` runs a job and gives its result as the page
 * would make it, with every message the engine posted.
 */
export function usePythonEngine(load: LoadEngine = loadFromNpmPackage) {
  const state = {
    engine: undefined as unknown as PythonEngine,
    shared: undefined as unknown as SharedViews,
    messages: [] as WorkerMessage[],
    /** Sees each message as it is posted (e.g. to stop the program at a given point). */
    onMessage: (_message: WorkerMessage): void => {},
  };

  beforeAll(async () => {
    state.shared = {
      control: new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4)),
      interrupt: new Uint8Array(new SharedArrayBuffer(1)),
      stdin: new Uint8Array(new SharedArrayBuffer(STDIN_CAPACITY)),
    };
    state.engine = await load((message) => {
      state.messages.push(message);
      state.onMessage(message);
    }, state.shared);
  }, 60_000);

  async function run(code: string, extra: Partial<RunJob> = {}) {
    const messages: WorkerMessage[] = [];
    state.messages = messages;
    const current = job(code, extra);
    await state.engine.run(current);
    const done = messages.find((message) => message.type === "done") as { outcome: RunOutcome };
    const text = (stream: "stdout" | "stderr") =>
      messages
        .filter((message) => message.type === "output" && message.stream === stream)
        .map((message) => (message as { data: string }).data)
        .join("");
    const displays = messages.flatMap((message) =>
      message.type === "display" ? [{ data: message.data }] : [],
    );
    const result = toRunResult({
      id: current.id,
      stdout: text("stdout"),
      stderr: text("stderr"),
      displays,
      truncated: false,
      outcome: done.outcome,
      durationMs: 0,
    });
    return { result, outcome: done.outcome, messages };
  }

  return { run, state };
}
