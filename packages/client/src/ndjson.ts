import { InvalidResponseError } from "./errors/InvalidResponseError";

/** `text` parsed as JSON, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseLine(line: string): unknown {
  const value = parseJson(line);
  if (value === undefined) {
    const excerpt = line.length > 80 ? `${line.slice(0, 80)}…` : line;
    throw new InvalidResponseError(`Not JSON in the run stream: ${JSON.stringify(excerpt)}`);
  }
  return value;
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
      const lines = (buffer + decoder.decode(value, { stream: true })).split("\n");
      // The last piece is a line still on its way.
      buffer = lines.pop()!;
      for (const line of lines) if (line.trim()) yield parseLine(line);
    }
    finished = true;
    buffer += decoder.decode();
    if (buffer.trim()) yield parseLine(buffer);
  } finally {
    signal?.removeEventListener("abort", cancel);
    if (!finished) cancel();
  }
}
