import { createHandler, type MechaHandler } from "./createHandler";
import type { HandlerOptions } from "./options";
import type { QueueOptions } from "./queue/queueOptions";

/** Options of `createRunner`: a handler's (runtime, limits, `maxConcurrent`, …) and its Redis. */
export interface RunnerOptions extends Omit<HandlerOptions, "queue"> {
  /** The deployment's Redis (its role is `runner`). */
  queue: Omit<QueueOptions, "role">;
}

/** A runner embedded in a host's own process. */
export interface MechaRunner {
  /**
   * Starts the runtime and joins the deployment: from then on it takes runs from the queue.
   * Rejects saying why when it cannot (no interpreter, Redis out of reach).
   */
  start(): Promise<void>;
  /** Drains: takes no new runs, finishes the ones it holds, then leaves the deployment. */
  close(): Promise<void>;
  /** Its `GET /health` and `GET /metrics`, as a Fetch handler, for hosts that monitor it. */
  readonly handler: MechaHandler;
}

/**
 * A runner: executes runs that API instances enqueue on Redis, with every isolation layer of
 * the runtime and its own `maxConcurrent`. What `mecha-server --role runner` runs.
 *
 * @example
 * const runner = createRunner({ queue: { redis: "redis://10.0.0.5:6379" }, maxConcurrent: 8 });
 * await runner.start();
 * process.once("SIGTERM", () => runner.close());
 */
export function createRunner(options: RunnerOptions): MechaRunner {
  const handler = createHandler({ ...options, queue: { ...options.queue, role: "runner" } });
  return { start: () => handler.ready(), close: () => handler.close(), handler };
}
