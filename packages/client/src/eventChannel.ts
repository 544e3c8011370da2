/** An async iterable fed by pushes; each iterator replays from the first event. */
export interface EventChannel<T> extends AsyncIterable<T> {
  push(value: T): void;
  close(): void;
  fail(error: unknown): void;
}

export function createEventChannel<T>(): EventChannel<T> {
  const values: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let waiters: (() => void)[] = [];
  const wake = () => {
    for (const waiter of waiters) waiter();
    waiters = [];
  };
  return {
    push(value) {
      if (done) return;
      values.push(value);
      wake();
    },
    close() {
      done = true;
      wake();
    },
    fail(error) {
      if (!done) failure = { error };
      done = true;
      wake();
    },
    [Symbol.asyncIterator]() {
      let index = 0;
      let stopped = false;
      return {
        async next(): Promise<IteratorResult<T, undefined>> {
          while (!stopped && index >= values.length && !done) {
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
          if (stopped) return { value: undefined, done: true };
          if (index < values.length) return { value: values[index++] as T, done: false };
          if (failure) throw failure.error;
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<T, undefined>> {
          stopped = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
}
