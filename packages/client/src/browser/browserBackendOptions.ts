import type { Backend } from "../backend";
import type { Timers } from "../timers";
import type { BrowserLimits } from "./toRunJob";
import type { PageMessage, RuntimeInfo, WorkerMessage } from "./workerProtocol";

/** The part of the `Worker` API the backend uses: a Web Worker, or a test double. */
export interface WorkerLike {
  postMessage(message: PageMessage): void;
  terminate(): void;
  onmessage: ((event: { data: WorkerMessage }) => void) | null;
  onerror: ((event: { message?: string; preventDefault?(): void }) => void) | null;
}

/** `idle` (nothing loaded), `loading`, `ready`, or `failed` (the last load did not work). */
export type BrowserBackendState = "idle" | "loading" | "ready" | "failed";

export interface BrowserBackendOptions {
  /**
   * Where the Pyodide files are served: the folder holding `pyodide.mjs`, `pyodide.asm.mjs`,
   * `pyodide.asm.wasm`, `python_stdlib.zip` and `pyodide-lock.json` (the `pyodide` npm
   * package's files, same version). Relative URLs resolve against the page.
   * @example "/pyodide/"
   */
  indexURL: string;
  /**
   * Load Python before the first run: `true` at once, `"idle"` when the page is idle, `false`
   * on the first run. Also applies after a stopped program's worker had to be replaced.
   * @default false
   */
  warmUp?: boolean | "idle";
  /**
   * The worker script to start instead of the built-in one (which starts from a `blob:` URL),
   * e.g. under a Content-Security-Policy without `worker-src blob:`. Copy this package's
   * `dist/browser/worker.js` (`node_modules/@mecha/client/dist/browser/worker.js`; it is a file to
   * serve, not an export to import) to your static files, and give its URL.
   * @example "/mecha/worker.js"
   * @default undefined
   */
  workerUrl?: string | URL;
  /**
   * Limits for a request that sets none. Memory cannot be limited in a browser.
   * @default { timeoutMs: 10000, outputBytes: 1048576 }
   */
  defaultLimits?: Partial<BrowserLimits>;
  /**
   * The highest limits a request may ask for; larger ones are clamped.
   * @default { timeoutMs: 60000, outputBytes: 10485760 }
   */
  maxLimits?: Partial<BrowserLimits>;
  /**
   * Packages to load with the interpreter, by their names in the distribution's
   * `pyodide-lock.json`, from `indexURL`: a self-hosted full Pyodide distribution (the npm
   * package's lock file lists them, but holds none of their files). A program that imports a
   * module the page has not loaded gets a note on stderr saying so.
   * @example ["numpy", "pandas"]
   * @default []
   */
  packages?: string[];
  /**
   * Before each run, load the packages its code imports (with their dependencies) from
   * `indexURL`, a self-hosted full Pyodide distribution. Loaded packages stay loaded for later
   * runs in the same worker.
   * @default false
   */
  autoLoadPackages?: boolean;
  /**
   * How long a program that was asked to stop (cancel, time or output limit) may take to end
   * before its worker is terminated (and Python reloaded for the next run).
   * @default 1000
   */
  stopGraceMs?: number;
  /**
   * How long loading Python may take before the backend gives up (runs then fall back).
   * @default 120000
   */
  loadTimeoutMs?: number;
  /**
   * Whether the page is cross-origin isolated (shared memory: interactive `input()`, and
   * stopping a program without reloading Python).
   * @default globalThis.crossOriginIsolated
   */
  isolated?: boolean;
  /**
   * Starts the worker; for tests or unusual hosts.
   * @default a Web Worker from the built-in script, or from `workerUrl`
   */
  createWorker?: () => WorkerLike;
  /**
   * Timers for the time limit, the stop grace period and the load timeout.
   * @default globalThis.setTimeout / globalThis.clearTimeout
   */
  timers?: Timers;
}

/** Real Python in the page: a `Backend` for `createClient({ browser })`. */
export interface BrowserBackend extends Backend {
  /** `idle`, `loading`, `ready` or `failed`. */
  readonly state: BrowserBackendState;
  /** The Pyodide and Python versions and how long loading took, once loaded. */
  readonly runtime: RuntimeInfo | null;
  /** True when the page is cross-origin isolated (see `isolated`). */
  readonly isolated: boolean;
  /** Loads Python now (or joins the load in progress). */
  warmUp(): Promise<RuntimeInfo>;
  /** Calls `listener` whenever `state` changes; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  /** Ends the worker; runs still waiting reject with an `AbortedError`. */
  dispose(): void;
}
