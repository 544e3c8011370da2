import { MEDIA_TYPES } from "@mecha/protocol";
import { encoder } from "./respond";

/** About how many characters one chunk of a streamed response holds. */
export const CHUNK_CHARS = 64 * 1024;

/** What JSON.stringify leaves out of an object, and writes as null in an array. */
function hasNoJsonForm(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/**
 * `JSON.stringify(value)` of plain data (objects, arrays, strings, numbers, booleans, null), in
 * pieces: a long string comes in slices (never splitting a surrogate pair), so no piece is much
 * longer than `chunkChars` and the whole text never exists at once.
 */
export function* jsonPieces(value: unknown, chunkChars = CHUNK_CHARS): Generator<string> {
  if (typeof value === "string" && value.length > chunkChars) {
    yield '"';
    for (let start = 0; start < value.length; ) {
      let end = Math.min(start + chunkChars, value.length);
      // A high surrogate at the end of a slice stays with its low one: the pair goes to the
      // next slice, or into this one when it is the slice's only character.
      if (end < value.length && (value.charCodeAt(end - 1) & 0xfc00) === 0xd800) {
        end += end - start > 1 ? -1 : 1;
      }
      yield JSON.stringify(value.slice(start, end)).slice(1, -1);
      start = end;
    }
    yield '"';
  } else if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      const item = value[i];
      if (hasNoJsonForm(item)) yield "null";
      else yield* jsonPieces(item, chunkChars);
    }
    yield "]";
  } else if (value !== null && typeof value === "object" && !("toJSON" in value)) {
    yield "{";
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      if (hasNoJsonForm(item)) continue;
      yield `${first ? "" : ","}${JSON.stringify(key)}:`;
      first = false;
      yield* jsonPieces(item, chunkChars);
    }
    yield "}";
  } else {
    yield JSON.stringify(value);
  }
}

/**
 * A JSON response written as the client reads it, a chunk at a time: however many clients ask
 * for one large result, each holds the server to a chunk, never a copy of the whole text.
 */
export function streamedJson(body: unknown, status = 200, headers = new Headers()): Response {
  headers.set("content-type", MEDIA_TYPES.json);
  headers.set("cache-control", "no-store");
  const pieces = jsonPieces(body);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = "";
      for (;;) {
        const next = pieces.next();
        if (next.done) {
          if (text) controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += next.value;
        if (text.length >= CHUNK_CHARS) break;
      }
      controller.enqueue(encoder.encode(text));
    },
    cancel() {
      pieces.return(undefined);
    },
  });
  return new Response(stream, { status, headers });
}
