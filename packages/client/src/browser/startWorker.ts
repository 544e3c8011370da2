import { UnavailableError } from "../errors/UnavailableError";
import type { WorkerLike } from "./browserBackendOptions";
import { WORKER_SOURCE } from "./workerSource";

/** `indexURL` as an absolute folder URL (the worker runs from a `blob:` URL, with no base). */
export function resolveIndexURL(indexURL: string, base: string | undefined): string {
  let href = indexURL;
  try {
    href = new URL(indexURL, base).href;
  } catch {
    // Relative with no base (outside a page): leave as given.
  }
  return href.endsWith("/") ? href : `${href}/`;
}

/** Whether the page is cross-origin isolated, so page and worker can share memory. */
export function detectIsolation(): boolean {
  return (
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true &&
    typeof SharedArrayBuffer === "function"
  );
}

/**
 * Starts the worker that owns Python: `workerUrl` when given, else the built-in script from a
 * `blob:` URL (a module worker: Pyodide refuses classic ones).
 */
export function startWorker(workerUrl: string | URL | undefined): WorkerLike {
  const WorkerClass = (
    globalThis as { Worker?: new (url: string | URL, options?: object) => WorkerLike }
  ).Worker;
  if (typeof WorkerClass !== "function") {
    throw new UnavailableError(
      "Python in the browser needs Web Workers, which this environment does not have.",
    );
  }
  if (workerUrl) return new WorkerClass(workerUrl, { name: "mecha-python", type: "module" });
  if (!WORKER_SOURCE) {
    throw new UnavailableError(
      "This copy of @mecha/client/browser has no built-in worker (it runs from source); pass createBrowserBackend({ workerUrl }).",
    );
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  try {
    return new WorkerClass(url, { name: "mecha-python", type: "module" });
  } finally {
    // The worker holds on to the script once constructed; the URL is no longer needed.
    URL.revokeObjectURL(url);
  }
}
