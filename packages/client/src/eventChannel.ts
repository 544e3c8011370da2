/** An async iterable fed by pushes; each iterator replays from the first event. */
export interface EventChannel<T> extends AsyncIterable<T> {
  push(value: T): void;
  close(): void;
  fail(error: unknown): void;
}

/** A pushed value and the promise of the next one: undefined once closed, rejected on failure. */
interface Link<T> {
  value: T;
  next: Promise<Link<T> | undefined>;
}

export function createEventChannel<T>(): EventChannel<T> {
  let resolve: (link: Link<T> | undefined) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  let done = false;
  const later = () => {
    const next = new Promise<Link<T> | undefined>((onValue, onError) => {
      resolve = onValue;
      reject = onError;
    });
    // A failure that no iterator reads is not an unhandled rejection.
    next.catch(() => {});
    return next;
  };
  const first = later();
  return {
    push(value) {
      if (done) return;
      const settle = resolve;
      settle({ value, next: later() });
    },
    close() {
      done = true;
      resolve(undefined);
    },
    fail(error) {
      done = true;
      reject(error);
    },
    async *[Symbol.asyncIterator]() {
      for (let link = await first; link; link = await link.next) yield link.value;
    },
  };
}
