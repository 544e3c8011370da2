import { AbortedError } from "@mecha/client";
import type { RunHandle } from "../internal/clientTypes";

/**
 * A run handle for a run that can start only once something else is ready (a session still
 * opening): events, result, stdin and cancel wait for it, then pass through. Cancelled (or its
 * `signal` aborted) before then, the run never starts and `result` rejects with `AbortedError`,
 * as a client's run dropped before it started does.
 */
export function lazyRunHandle<T>(
  ready: Promise<T>,
  start: (value: T) => RunHandle,
  signal?: AbortSignal,
): RunHandle {
  let handle: RunHandle | undefined;
  let dropped = false;
  const drop = () => {
    dropped = true;
  };
  signal?.addEventListener("abort", drop, { once: true });
  const started = ready.then((value) => {
    signal?.removeEventListener("abort", drop);
    if (dropped || signal?.aborted) {
      throw new AbortedError("The run was stopped before its session opened; nothing ran.");
    }
    handle = start(value);
    return handle;
  });
  const result = started.then((running) => running.result);
  // Whoever holds the handle reads `result`; a failure seen only through `events` is not lost.
  result.catch(() => {});
  return {
    get id() {
      return handle?.id;
    },
    get backend() {
      return handle?.backend;
    },
    result,
    events: {
      async *[Symbol.asyncIterator]() {
        yield* (await started).events;
      },
    },
    async sendStdin(data, options) {
      return (await started).sendStdin(data, options);
    },
    async cancel() {
      if (handle) return handle.cancel();
      drop();
    },
  };
}
