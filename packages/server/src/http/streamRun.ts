import { MEDIA_TYPES } from "@mecha/protocol";
import type { SequencedEvent } from "../runs/eventLog";
import type { RunHandle } from "../runs/runRegistry";
import { CHUNK_CHARS } from "./jsonChunks";
import { encoder } from "./respond";

/**
 * Of events made for this stream alone (a run on another runner, read from Redis), how much may
 * wait for a client that does not read: past it the stream ends at a gap, and the client asks
 * again from its last seq as it catches up.
 */
const MAX_WAITING_CHARS = 1024 * 1024;

/**
 * A run's events as NDJSON, from after `after` (-1: all of them), then live until `exit`; with
 * no run, an empty stream (a reader that already has every event of an ended run).
 *
 * Events are serialized only as the client reads (a chunk at a time, as the connection drains),
 * so a client that stops reading holds the server to one chunk, never a copy of the run's output.
 * Neighbouring chunks of one stream that are waiting together (written in the same turn, or
 * read back at once) are merged into one line of up to 64 Ki characters (same bytes, same order), which
 * carries the last one's `seq`.
 */
export function streamRun(
  run: RunHandle | null,
  headers: Headers,
  after = -1,
  onCancel: () => void = () => {},
): Response {
  headers.set("content-type", MEDIA_TYPES.ndjson);
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  // Proxies such as nginx would otherwise hold streamed lines back.
  headers.set("x-accel-buffering", "no");
  if (run === null) return new Response("", { status: 200, headers });

  const waiting: SequencedEvent[] = [];
  // What `waiting` holds, in characters of output (an event without any counted as 64).
  let waitingChars = 0;
  // The follow has ended: with `exit`, or at a gap (the client asks again from its last seq and
  // is told what was lost, 410, never given a silent gap), or because the stream was cancelled.
  let ended = false;
  let cancelled = false;
  let unfollow = () => {};
  let wake: (() => void) | null = null;
  let scheduled = false;
  // A pull waiting for events goes on a turn later, so that what arrives in one turn is merged.
  const nudge = () => {
    if (scheduled || !wake) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const resume = wake;
      wake = null;
      resume?.();
    });
  };
  const finish = () => {
    ended = true;
    // Once nothing more will be sent: a follower no longer (a run on another runner counts them).
    unfollow();
    nudge();
  };
  const onEvent = (event: SequencedEvent) => {
    if (ended) return;
    waiting.push(event);
    if (event.type === "exit") return finish();
    waitingChars += charsOf(event);
    if (run.copiesEvents && waitingChars > MAX_WAITING_CHARS) return finish();
    nudge();
  };

  const stream = new ReadableStream<Uint8Array>({
    start() {
      const following = run.follow(after, onEvent, finish);
      if (typeof following === "function") {
        if (ended) following();
        else unfollow = following;
      } else {
        following.then((stop) => {
          if (cancelled || ended) stop();
          else unfollow = stop;
        }, finish);
      }
    },
    async pull(controller) {
      while (waiting.length === 0 && !ended) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (cancelled) return;
      if (waiting.length > 0) {
        const [text, taken] = takeLines(waiting);
        for (const event of waiting.splice(0, taken)) waitingChars -= charsOf(event);
        controller.enqueue(encoder.encode(text));
      }
      if (waiting.length === 0 && ended) controller.close();
    },
    cancel() {
      cancelled = true;
      finish();
      onCancel();
    },
  });
  return new Response(stream, { status: 200, headers });
}

function charsOf(event: SequencedEvent): number {
  return "data" in event && typeof event.data === "string" ? event.data.length : 64;
}

/**
 * About a chunk's worth of events from the front of `waiting`, as NDJSON lines, and how many
 * events they hold.
 */
function takeLines(waiting: readonly SequencedEvent[]): [text: string, taken: number] {
  let text = "";
  let taken = 0;
  let last: SequencedEvent | null = null;
  while (taken < waiting.length && text.length < CHUNK_CHARS) {
    const event = waiting[taken++]!;
    if (
      last !== null &&
      (event.type === "stdout" || event.type === "stderr") &&
      last.type === event.type &&
      last.data.length + event.data.length <= CHUNK_CHARS
    ) {
      last = { type: event.type, data: last.data + event.data, seq: event.seq };
      continue;
    }
    if (last) text += `${JSON.stringify(last)}\n`;
    last = event;
  }
  if (last) text += `${JSON.stringify(last)}\n`;
  return [text, taken];
}
