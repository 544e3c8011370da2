/**
 * Calls a host callback. Its errors are reported like an event listener's (`reportError`, or
 * thrown from a microtask) rather than mistaken for a failure of whatever called it.
 */
export function callSafely<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch (error) {
    const reportError = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    if (reportError) reportError(error);
    else {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
