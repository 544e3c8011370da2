import { AbortedError } from "./errors/AbortedError";

/** The timer functions the client schedules with; inject fakes in tests. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, looked up at call time so nothing is captured at import. */
export const defaultTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The reason an abort carries into an `AbortedError`. */
export function abortError(signal: AbortSignal, what: string): AbortedError {
  return new AbortedError(`${what} was aborted.`, { cause: signal.reason });
}

/** Waits `ms`, or rejects with `AbortedError` as soon as `signal` aborts. */
export function sleep(ms: number, timers: Timers, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let handle: unknown;
    const onAbort = () => {
      timers.clearTimeout(handle);
      reject(abortError(signal!, "The wait before a retry"));
    };
    if (signal?.aborted) return onAbort();
    handle = timers.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
