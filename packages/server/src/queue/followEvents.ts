import type { SequencedEvent } from "../runs/eventLog";
import { lostResult } from "../runs/results";
import { runErrors } from "../runs/runErrors";
import type { Limits } from "../runtime/types";
import { entryId, seqOf } from "./keys";
import type { RedisConnections } from "./redisConnections";
import { GONE_MESSAGE, unreachableMessage } from "./runWatch";

type Entry = [id: string, fields: string[]];

/**
 * A run's events after `after` from its stream in Redis, then live from its channel, in order
 * and each once: subscribed first, then read, so nothing published in between is missed; a
 * message that skips a seq (one was lost in a reconnect), or silence for two heartbeats, makes
 * it read the stream again from where it is. Events no longer kept reject the first read with
 * 410 `events_expired`, or later call `onBreak` (the stream ends without `exit`; the client asks
 * again and is told). A run whose record is gone, or that cannot be read for `lostAfterMs`, ends
 * with a `lost` exit made here.
 */
export async function followEvents(
  connections: RedisConnections,
  id: string,
  limits: Limits | undefined,
  after: number,
  listener: (event: SequencedEvent) => void,
  onBreak: () => void,
): Promise<() => void> {
  const { command, keys, channels, opts } = connections;
  let next = after + 1;
  let stopped = false;
  let reading = true;
  let held: SequencedEvent[] = [];
  let heardAt = performance.now();
  let unreachableSince = 0;
  let unlisten = () => {};
  let timer: NodeJS.Timeout | null = null;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearInterval(timer);
    unlisten();
  };
  const deliver = (events: SequencedEvent[]) => {
    for (const event of events) {
      if (stopped) return;
      if (event.seq < next) continue;
      if (event.seq > next) {
        void read(false);
        return;
      }
      next++;
      heardAt = performance.now();
      listener(event);
      if (event.type === "exit") stop();
    }
  };
  const end = (message: string) => {
    deliver([{ type: "exit", seq: next, result: lostResult(id, limits, message) }]);
  };
  /** Reads the stream from `next`; throws 410 on the first read when events were trimmed. */
  const read = async (first: boolean) => {
    if (reading && !first) return;
    reading = true;
    try {
      const entries = (await command.redis.xrange(keys.events(id), entryId(next), "+")) as Entry[];
      if (entries.length === 0 && (await command.redis.exists(keys.run(id))) === 0) {
        if (first) throw runErrors.notFound(id);
        reading = false;
        end(GONE_MESSAGE);
        return;
      }
      const firstSeq = entries.length > 0 ? seqOf(entries[0]![0]) : next;
      if (firstSeq > next) {
        if (first) throw runErrors.eventsExpired(id, firstSeq);
        stop();
        onBreak();
        return;
      }
      reading = false;
      heardAt = performance.now();
      deliver(entries.map(([, fields]) => JSON.parse(fields[1]!) as SequencedEvent));
      const waiting = held.sort((a, b) => a.seq - b.seq);
      held = [];
      deliver(waiting);
    } catch (error) {
      reading = false;
      if (first) throw error;
    }
  };
  const onMessage = (message: string) => {
    const events = JSON.parse(message) as SequencedEvent[];
    if (reading) held.push(...events);
    else deliver(events);
  };

  connections.assertReachable();
  unlisten = await channels.listen(keys.runChannel(id), onMessage);
  try {
    await read(true);
  } catch (error) {
    stop();
    throw error;
  }
  if (!stopped) {
    timer = setInterval(() => {
      if (!connections.reachable) {
        unreachableSince ||= performance.now();
        const ms = performance.now() - unreachableSince;
        if (ms >= opts.lostAfterMs) end(unreachableMessage(ms));
        return;
      }
      unreachableSince = 0;
      if (performance.now() - heardAt >= opts.heartbeatMs * 2) void read(false);
    }, opts.heartbeatMs);
    timer.unref?.();
  }
  return stop;
}
