import { MEDIA_TYPES, type RunEvent } from "@mecha/protocol";
import type { SequencedEvent } from "../runs/eventLog";
import type { Run } from "../runs/run";
import { encoder } from "./respond";

/**
 * A run's events as NDJSON, from after `after` (-1: all of them), then live until `exit`.
 * Neighbouring chunks of one stream written in the same turn are merged into one line (same
 * bytes, same order), which carries the last one's `seq`.
 */
export function streamRun(
  run: Run,
  headers: Headers,
  after = -1,
  onCancel: () => void = () => {},
): Response {
  let unfollow = () => {};
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
      const onEvent = (event: SequencedEvent) => {
        pending.push(event);
        if ((event as RunEvent).type === "exit") {
          flush();
          closed = true;
          try {
            controller.close();
          } catch {}
          return;
        }
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      };
      unfollow = run.follow(after, onEvent);
    },
    cancel() {
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
