/** `promise`'s value, or `null` once `ms` have passed (the timer cleared as soon as it settles). */
export async function within<T>(ms: number, promise: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles once `stream` has closed (at once if it has). */
export function closed(
  stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean },
) {
  return new Promise<void>((resolve) => {
    if (stream.readableEnded || stream.destroyed) resolve();
    else stream.once("close", () => resolve());
  });
}
