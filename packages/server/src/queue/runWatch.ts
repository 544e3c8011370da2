import type { RunResult } from "@mecha/protocol";
import { lostResult } from "../runs/results";
import type { Limits } from "../runtime/types";
import type { RedisConnections } from "./redisConnections";

export const GONE_MESSAGE =
  "The run's record is gone from Redis (it restarted without persistence, or it evicts keys: run it with maxmemory-policy noeviction); what became of the run is unknown, and it was not run again.";

export const unreachableMessage = (ms: number) =>
  `Redis could not be reached for ${Math.round(ms / 1000)} s while the run went on; what became of it is unknown, and it was not run again.`;

/** A run watched from an API instance: when a runner takes it, and how it ends. */
export interface RunWatch {
  /** Settles once the channel is subscribed (rejects with 503 when Redis cannot be reached). */
  readonly ready: Promise<void>;
  /** Settles when a runner has taken the run (or it ended first). */
  readonly claimed: Promise<void>;
  /** A runner was seen to take the run, or it was seen to end (cancelled while queued). */
  readonly started: boolean;
  /** Settles with the run's result: from its runner, or `lost` when nobody can say. */
  readonly done: Promise<RunResult>;
  /**
   * Also asks Redis now and then (the record exists from now on); `now`: once subscribed too,
   * for a run that may have ended already.
   */
  begin(now?: boolean): void;
  /** Stops watching; `done` no longer settles. */
  stop(): void;
}

/**
 * Watches one run through its channel (its `started` and `exit` events), and asks Redis every
 * two heartbeats in case a message was lost (a reconnect): so `done` settles even then. A run
 * whose record is gone, or that cannot be asked about for `lostAfterMs`, is `lost`: nothing more
 * can be known of it.
 */
export function watchRun(
  connections: RedisConnections,
  id: string,
  limits: Limits | undefined,
): RunWatch {
  const { command, keys, opts } = connections;
  let settle!: (result: RunResult) => void;
  let taken!: () => void;
  const done = new Promise<RunResult>((resolve) => {
    settle = resolve;
  });
  const claimed = new Promise<void>((resolve) => {
    taken = resolve;
  });
  let stopped = false;
  let unlisten = () => {};
  let timer: NodeJS.Timeout | null = null;
  let unreachableSince = 0;
  let started = false;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearInterval(timer);
    unlisten();
  };
  const finish = (result: RunResult) => {
    if (stopped) return;
    stop();
    taken();
    settle(result);
  };
  const onMessage = (message: string) => {
    for (const event of JSON.parse(message) as { type: string; result?: RunResult }[]) {
      if (event.type === "started") {
        started = true;
        taken();
      }
      if (event.type === "exit" && event.result) finish(event.result);
    }
  };
  const poll = async () => {
    if (!connections.reachable) {
      unreachableSince ||= performance.now();
      const ms = performance.now() - unreachableSince;
      if (ms >= opts.lostAfterMs) finish(lostResult(id, limits, unreachableMessage(ms)));
      return;
    }
    unreachableSince = 0;
    try {
      const [state, result] = await command.redis.hmget(keys.run(id), "state", "result");
      if (state === null) finish(lostResult(id, limits, GONE_MESSAGE));
      else if (state === "finished" && result) {
        started = true;
        finish(JSON.parse(result) as RunResult);
      } else if (state === "running") {
        started = true;
        taken();
      }
    } catch {
      // asked again next time
    }
  };
  const ready = connections.channels.listen(keys.runChannel(id), onMessage).then((off) => {
    if (stopped) off();
    else unlisten = off;
  });
  ready.catch(() => {});
  return {
    ready,
    claimed,
    get started() {
      return started;
    },
    done,
    begin(now = false) {
      if (stopped || timer) return;
      timer = setInterval(() => void poll(), opts.heartbeatMs * 2);
      timer.unref?.();
      // Not subscribed (Redis was down), or asked to: ask now rather than in two heartbeats.
      void ready.then(
        () => (now ? poll() : undefined),
        () => poll(),
      );
    },
    stop,
  };
}
