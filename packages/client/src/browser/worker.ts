import type { PythonEngine } from "./createPythonEngine";
import { loadPythonEngine } from "./loadPythonEngine";
import type { PageMessage, WorkerMessage } from "./workerProtocol";

/**
 * The dedicated worker that owns the Pyodide interpreter. Built on its own (a module worker
 * script, also shipped as dist/browser/worker.js); the page talks to it only with
 * the messages of `workerProtocol.ts`.
 */

interface WorkerScope {
  onmessage: ((event: { data: PageMessage }) => void) | null;
  postMessage(message: WorkerMessage): void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function serve(scope: WorkerScope): void {
  const post = (message: WorkerMessage) => scope.postMessage(message);
  let engine: PythonEngine | undefined;
  // Runs wait for the one before them (and for loading) so messages never interleave.
  let queue: Promise<void> = Promise.resolve();

  async function load(message: Extract<PageMessage, { type: "init" }>): Promise<void> {
    try {
      const loaded = await loadPythonEngine(message, post);
      engine = loaded.engine;
      post({ type: "ready", ...loaded.info });
    } catch (error) {
      post({ type: "load-error", message: describe(error) });
    }
  }

  scope.onmessage = ({ data: message }) => {
    queue = queue.then(async () => {
      try {
        if (message.type === "init") await load(message);
        else {
          if (!engine) throw new Error("Python is not loaded in this worker.");
          if (message.type === "run") await engine.run(message.job);
          else if (message.type === "close-session") engine.closeSession(message.session);
          else {
            // A session's files may be refused (a path outside its folder): say so, not crash.
            const { request } = message;
            try {
              if (message.type === "open-session") {
                engine.openSession(message.session, message.files);
                post({ type: "reply", request });
              } else {
                post({
                  type: "reply",
                  request,
                  bytes: engine.readFile(message.session, message.path),
                });
              }
            } catch (error) {
              post({ type: "reply", request, error: describe(error) });
            }
          }
        }
      } catch (error) {
        post({ type: "fatal", message: describe(error) });
      }
    });
  };
}

const scope = globalThis as unknown as Partial<WorkerScope> & { WorkerGlobalScope?: unknown };
// Inert anywhere but in a worker (e.g. if a tool imports this file by mistake).
if (typeof scope.WorkerGlobalScope !== "undefined" && typeof scope.postMessage === "function") {
  serve(scope as WorkerScope);
}
