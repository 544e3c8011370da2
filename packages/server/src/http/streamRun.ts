import { MEDIA_TYPES, type RunEvent } from "@mecha/protocol";
import type { SequencedEvent } from "../runs/eventLog";
import type { RunHandle } from "../runs/runRegistry";
import { encoder } from "./respond";

/**
 * A run's events as NDJSON, from after `after` (-1: all of them), then live until `exit`.
 * Neighbouring chunks of one stream written in the same turn are merged into one line (same
 * bytes, same order), which carries the last one's `seq`.
 */
export function streamRun(
  run: RunHandle,
  headers: Headers,
  after = -1,
  onCancel: () => void = () => {},
): Response {
  let unfollow = () => {};
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let pending: SequencedEvent[] = [];
      let scheduled = false;
      let closed = false;
      const flush = () => {
        scheduled = false;
        if (pending.length === 0 || closed) return;
        let text = "";
        let last: SequencedEvent | null = null;
        for (const event of pending) {
          if (
            last &&
            (event.type === "stdout" || event.type === "stderr") &&
            last.type === event.type
          ) {
            last = { ...last, data: last.data + event.data, seq: event.seq } as SequencedEvent;
            continue;
          }
          if (last) text += `${JSON.stringify(last)}\n`;
          last = event;
        }
        if (last) text += `${JSON.stringify(last)}\n`;
        pending = [];
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          // the consumer is gone
        }
      };
      const end = () => {
        closed = true;
        try {
          controller.close();
        } catch {}
      };
      const onEvent = (event: SequencedEvent) => {
        if (closed) return;
        pending.push(event);
        if ((event as RunEvent).type === "exit") {
          flush();
          end();
          return;
        }
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      };
      // A gap (a reader behind what is kept) ends the stream without `exit`: the client asks
      // again from its last seq and is told what was lost (410), never given a silent gap.
      const following = run.follow(after, onEvent, () => {
        flush();
        end();
      });
      if (typeof following === "function") unfollow = following;
      else {
        following.then(
          (stop) => {
            if (cancelled) stop();
            else unfollow = stop;
          },
          () => {
            flush();
            end();
          },
        );
      }
    },
    cancel() {
      cancelled = true;
      unfollow();
      onCancel();
    },
  });
  headers.set("content-type", MEDIA_TYPES.ndjson);
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  // Proxies such as nginx would otherwise hold streamed lines back.
  headers.set("x-accel-buffering", "no");
  return new Response(stream, { status: 200, headers });
}
