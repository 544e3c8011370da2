import type { Capacity, RunResult } from "@mecha/protocol";
import type { RunJob } from "../runtime/types";
import type { SequencedEvent } from "./eventLog";

export type MaybePromise<T> = T | Promise<T>;

/** Where a run is: waiting or executing, or ended with its result. */
export type RunView =
  | { state: "queued" | "running"; result?: undefined }
  | { state: "finished"; result: RunResult };

/**
 * One run as the HTTP routes see it, wherever it executes: in this process (`Run`) or on a
 * runner over Redis (`RemoteRun`). Methods may answer at once or as a promise.
 */
export interface RunHandle {
  readonly id: string;
  /**
   * The events `follow` delivers are made for each follower (read from elsewhere), not shared
   * with a log this process keeps anyway: a stream then bounds how many it holds unread.
   */
  readonly copiesEvents?: boolean;
  /** Where it is now. */
  view(): MaybePromise<RunView>;
  /** Settles with its result when it ends. */
  readonly done: Promise<RunResult>;
  /**
   * Whether a reader that has its events up to `after` has more to read: `none` once the run
   * has ended and `after` is its `exit`. 410 `events_expired` when its events after `after` are
   * no longer kept; 400 when `after` is past the last event it has sent.
   */
  checkAfter(after: number): MaybePromise<"more" | "none">;
  /**
   * Its events after `after` (-1: all), then each one as it happens until `exit`; returns how
   * to stop. `onBreak` is told when the events cannot go on without a gap (a reader that fell
   * behind what is kept): the stream ends without `exit`, so the client asks again.
   */
  follow(
    after: number,
    listener: (event: SequencedEvent) => void,
    onBreak?: () => void,
  ): MaybePromise<() => void>;
  /** Feeds its standard input: 409 once it ended or its input closed, 413 over the cap. */
  writeStdin(data: string, eof: boolean): MaybePromise<void>;
  /** Ends it as `cancelled`; false when it had already ended. */
  cancel(): MaybePromise<boolean>;
  /** Its owner asked about it (a stream, a poll, stdin): it is not abandoned. */
  touch(): void;
  /** The request waiting for it went away: cancel it unless someone comes back in `windowMs`. */
  abandoned(windowMs: number): void;
}

/** What a request brings to a new run: who asked, and the key that makes a retry safe. */
export interface SubmitOptions {
  principal?: string;
  idempotencyKey?: string;
  /** What the request asked for (its body), to tell a retry from a different run reusing a key. */
  fingerprint?: string;
}

/**
 * The runs a handler answers for: admission, lookup by id (404 for another principal's), and
 * shutdown. The in-process `RunManager` and the Redis-backed `RedisRuns` both are one, so every
 * route works the same on either.
 */
export interface RunRegistry {
  /**
   * Admits a run or throws (503 `busy`, `unavailable`); with an `Idempotency-Key` already used
   * within the retention window, answers that run instead (`existing`).
   */
  submit(job: RunJob, options?: SubmitOptions): MaybePromise<{ run: RunHandle; existing: boolean }>;
  /** A run by id, if it is `principal`'s; else 404 (never whose it is). */
  get(id: string, principal?: string): MaybePromise<RunHandle>;
  /** Running and waiting runs and the limits on them, as `/health` reports them. */
  readonly capacity: Capacity;
  readonly isClosing: boolean;
  /** Stops taking runs and waits for the ones it answers for. */
  close(): Promise<void>;
}
