import { createPythonEngine, type PyodideLike, type PythonEngine } from "./createPythonEngine";
import { type PageMessage, type RuntimeInfo, viewsOf, type WorkerMessage } from "./workerProtocol";

interface PyodideModule {
  loadPyodide(options: { indexURL: string; packages?: string[] }): Promise<PyodideLike>;
}

/**
 * Loads Pyodide from `indexURL` (with the `packages` asked for, from the same distribution) and
 * starts the engine in it: what the worker does with its `init` message.
 */
export async function loadPythonEngine(
  message: Extract<PageMessage, { type: "init" }>,
  post: (message: WorkerMessage) => void,
  /** Imports `pyodide.mjs` by URL; tests in Node pass their own. */
  importModule: (url: string) => Promise<unknown> = (url) => import(/* @vite-ignore */ url),
): Promise<{ engine: PythonEngine; info: RuntimeInfo }> {
  const started = performance.now();
  const module = (await importModule(`${message.indexURL}pyodide.mjs`)) as PyodideModule;
  const pyodide = await module.loadPyodide({
    indexURL: message.indexURL,
    ...(message.packages.length ? { packages: message.packages } : {}),
  });
  const { shared } = message;
  const engine = createPythonEngine({
    pyodide,
    runner: message.runner,
    post,
    shared: shared ? viewsOf(shared) : undefined,
    packages: message.packages,
  });
  const loadMs = performance.now() - started;
  return { engine, info: { pyodide: pyodide.version, python: engine.python, loadMs } };
}
