import { InvalidResponseError } from "./errors/InvalidResponseError";

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (cause) {
    const excerpt = line.length > 80 ? `${line.slice(0, 80)}…` : line;
    throw new InvalidResponseError(
      `The run stream sent a line that is not JSON: ${JSON.stringify(excerpt)}`,
      { cause },
    );
  }
}

/**
 * Parses a newline-delimited JSON stream incrementally: each value is yielded as soon as its
 * line is complete, whatever the chunking. Stopping early, or aborting `signal`, cancels the
 * stream (not every `fetch` ends a response body on abort).
 */
export async function* parseNdjson(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<unknown, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const cancel = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  let buffer = "";
  let finished = false;
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) yield parseLine(line);
        newline = buffer.indexOf("\n");
      }
    }
    finished = true;
    buffer += decoder.decode();
    if (buffer.trim()) yield parseLine(buffer);
  } finally {
    signal?.removeEventListener("abort", cancel);
    if (!finished) cancel();
  }
}
