import type { RunResult } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { readerAt, type SequencedEvent } from "../runs/eventLog";
import { cancelledBeforeStart } from "../runs/results";
import { runErrors } from "../runs/runErrors";
import type { RunHandle, RunView } from "../runs/runRegistry";
import type { Limits } from "../runtime/types";
import { followEvents } from "./followEvents";
import { seqOf } from "./keys";
import type { RedisConnections } from "./redisConnections";
import type { ResultCache } from "./resultCache";
import type { RunQueue } from "./runQueue";
import { type RunWatch, watchRun } from "./runWatch";

/** What every remote run of an API instance shares. */
export interface RemoteContext {
  connections: RedisConnections;
  queue: RunQueue;
  maxStdinBuffer: number;
  retainMs: number;
  /** Ended runs' results read here, shared by this instance's requests. */
  results: ResultCache;
}

/** A Redis failure while answering a request: 503, never a hang. */
export function unreachable(cause: unknown): HttpError {
  if (cause instanceof HttpError) return cause;
  return new HttpError(
    "unavailable",
    `Redis cannot be reached (${(cause as Error).message}); try again shortly.`,
    { retryAfter: 2 },
  );
}

/**
 * A run held in Redis and executed by some runner, as any API instance sees it: its state and
 * result, its events (`followEvents`), its input and its cancel, all through Redis, so any
 * instance answers for any run.
 */
export class RemoteRun implements RunHandle {
  /** Each follower reads its own events from Redis. */
  readonly copiesEvents = true;
  private watch: RunWatch | null;

  constructor(
    readonly id: string,
    private readonly limits: Limits | undefined,
    private readonly context: RemoteContext,
    watch?: RunWatch,
    /** The session it runs in, if any. */
    private readonly session?: string,
  ) {
    this.watch = watch ?? null;
  }

  private get redis() {
    return this.context.connections.command.redis;
  }

  private get keys() {
    return this.context.connections.keys;
  }

  get done(): Promise<RunResult> {
    if (!this.watch) {
      this.watch = watchRun(this.context.connections, this.id, this.limits);
      this.watch.begin(true);
    }
    return this.watch.done;
  }

  async view(): Promise<RunView> {
    const key = this.keys.run(this.id);
    const fail = (cause: unknown) => {
      throw unreachable(cause);
    };
    const state = await this.redis.hget(key, "state").catch(fail);
    if (state === null) throw runErrors.notFound(this.id);
    if (state !== "finished") return { state: state === "queued" ? "queued" : "running" };
    // An ended run's result (up to its output limit) is read once for every reader here.
    const result = await this.context.results
      .get(this.id, () => this.redis.hget(key, "result"))
      .catch(fail);
    if (result === null) throw runErrors.notFound(this.id);
    return { state: "finished", result };
  }

  async checkAfter(after: number): Promise<"more" | "none"> {
    // In one transaction: a script claiming or ending the run between two reads would make
    // its first event look trimmed.
    const replies = await this.redis
      .multi()
      .xrange(this.keys.events(this.id), "-", "+", "COUNT", 1)
      .hmget(this.keys.run(this.id), "state", "last")
      .exec()
      .catch((cause) => {
        throw unreachable(cause);
      });
    const failed = replies?.find(([error]) => error)?.[0];
    if (!replies || failed) throw unreachable(failed ?? new Error("the transaction was aborted"));
    const first = replies[0]![1] as [string, string[]][];
    const [state, kept] = replies[1]![1] as (string | null)[];
    if (state === null) throw runErrors.notFound(this.id);
    const last = Number(kept ?? -1);
    return readerAt(this.id, after, {
      first: first[0] ? seqOf(first[0][0]) : last + 1,
      last,
      finished: state === "finished",
    });
  }

  async follow(
    after: number,
    listener: (event: SequencedEvent) => void,
    onBreak: () => void = () => {},
  ): Promise<() => void> {
    const key = this.keys.run(this.id);
    const stop = await followEvents(
      this.context.connections,
      this.id,
      this.limits,
      after,
      listener,
      onBreak,
    );
    this.redis
      .multi()
      .hincrby(key, "followers", 1)
      .hincrby(key, "touches", 1)
      .exec()
      .catch(() => {});
    let following = true;
    return () => {
      if (!following) return;
      following = false;
      stop();
      this.redis.hincrby(key, "followers", -1).catch(() => {});
    };
  }

  async writeStdin(data: string, eof: boolean): Promise<void> {
    const { connections, maxStdinBuffer } = this.context;
    const size = Buffer.byteLength(data);
    const [verdict, held] = (await connections.command
      .run(
        "stdin",
        [this.keys.run(this.id), this.keys.stdin(this.id)],
        [
          JSON.stringify({ d: data, e: eof }),
          size,
          eof ? 1 : 0,
          maxStdinBuffer,
          this.keys.prefix,
          this.id,
        ],
      )
      .catch((cause) => {
        throw unreachable(cause);
      })) as [string, number?];
    if (verdict === "ok") return;
    if (verdict === "gone") throw runErrors.notFound(this.id);
    if (verdict === "finished") throw runErrors.finished(this.id);
    if (verdict === "closed") throw runErrors.stdinClosed(this.id);
    throw runErrors.stdinTooLarge(this.id, Number(held), size, maxStdinBuffer);
  }

  async cancel(): Promise<boolean> {
    const { connections, retainMs, queue } = this.context;
    const result = cancelledBeforeStart({
      id: this.id,
      limits: this.limits!,
      ...(this.session ? { sessionId: this.session } : {}),
    });
    const started = JSON.stringify({ type: "started", id: this.id, seq: 0, limits: this.limits });
    const exit = JSON.stringify({ type: "exit", seq: 1, result });
    const verdict = await connections.command
      .run(
        "cancel",
        [this.keys.run(this.id), this.keys.events(this.id), this.keys.stdin(this.id)],
        [
          this.keys.prefix,
          this.id,
          started,
          exit,
          JSON.stringify(result),
          retainMs,
          this.keys.runChannel(this.id),
        ],
      )
      .catch((cause) => {
        throw unreachable(cause);
      });
    if (verdict === "gone") throw runErrors.notFound(this.id);
    if (verdict === "finished") return false;
    // Cancelled while queued: it will never start; its job leaves the queue (a runner that
    // took it already skips it).
    if (verdict === "cancelled") queue.remove(this.id);
    return true;
  }

  touch(): void {
    this.redis.hincrby(this.keys.run(this.id), "touches", 1).catch(() => {});
  }

  abandoned(windowMs: number): void {
    const key = this.keys.run(this.id);
    const read = () => this.redis.hmget(key, "state", "touches", "followers");
    void read()
      .then(([state, touches]) => {
        if (state === null || state === "finished") return;
        const timer = setTimeout(() => {
          void read()
            .then(([now, again, followers]) => {
              // Nobody came back on any instance: no new request touched it, nobody follows it.
              if (
                now !== null &&
                now !== "finished" &&
                again === touches &&
                Number(followers) <= 0
              ) {
                return this.cancel();
              }
            })
            .catch(() => {});
        }, windowMs);
        timer.unref?.();
      })
      .catch(() => {});
  }
}
