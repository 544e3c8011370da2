import { createHash } from "node:crypto";
import type { Capacity, RunResult } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { runErrors } from "../runs/runErrors";
import type { RunRegistry, SubmitOptions } from "../runs/runRegistry";
import type { Limits, Logger, RunJob } from "../runtime/types";
import { type LostReason, sessionErrors } from "../sessions/sessionErrors";
import type { ClusterMonitor } from "./clusterMonitor";
import { jobData } from "./jobData";
import type { RedisConnections } from "./redisConnections";
import { type RemoteContext, RemoteRun, unreachable } from "./remoteRun";
import { ResultCache } from "./resultCache";
import type { RunQueue } from "./runQueue";
import { watchRun } from "./runWatch";

export interface RedisRunsSettings {
  /** Runs waiting for a runner before 503 `busy`; undefined: 4 × the runners' maxConcurrent. */
  maxQueued: number | undefined;
  maxStdinBuffer: number;
  /** How long ended runs stay readable, and an idempotency key with them. */
  retainMs: number;
  /** What the ended runs' results read here may hold together, shared by the requests. */
  retainBytes: number;
  /** The longest a run may last (the highest timeout a request may ask for). */
  maxRunMs: number;
}

/** Hooks that observe the runs this instance accepted (metrics). */
export interface RedisRunsObserver {
  finished?(result: RunResult): void;
}

/** A run's owner as kept in Redis: "" for none (the id is the capability), else `p:<principal>`. */
export const owner = (principal: string | undefined) =>
  principal === undefined ? "" : `p:${principal}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** Whether `promise` settles within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The runs of a deployment on Redis, as an API instance answers for them: it admits and enqueues
 * (BullMQ), waits for a runner to take each run (503 `busy` past `queueTimeoutMs`, nothing ran),
 * and finds any run by id for any instance (`RemoteRun`). Admission reads what the cluster
 * monitor last saw: the live runners and the queue's depth.
 */
export class RedisRuns implements RunRegistry {
  private closing = false;
  /** Runs this instance accepted, until they end (counted by final status when they do). */
  private readonly accepted = new Set<Promise<unknown>>();
  /** Runs this instance enqueued that no runner has taken yet. */
  private waiting = 0;
  private readonly context: RemoteContext;

  constructor(
    private readonly connections: RedisConnections,
    private readonly monitor: ClusterMonitor,
    queue: RunQueue,
    private readonly settings: RedisRunsSettings,
    private readonly logger: Logger,
    private readonly observer: RedisRunsObserver = {},
  ) {
    this.context = {
      connections,
      queue,
      maxStdinBuffer: settings.maxStdinBuffer,
      retainMs: settings.retainMs,
      results: new ResultCache(settings.retainBytes, settings.retainMs),
    };
  }

  get capacity(): Capacity {
    const runners = this.monitor.available;
    let running = 0;
    let maxConcurrent = 0;
    for (const runner of runners) {
      running += runner.running;
      maxConcurrent += runner.maxConcurrent;
    }
    return {
      running,
      queued: Math.max(this.monitor.queued, this.waiting),
      // The protocol needs a positive number; with no runner the instance is unavailable.
      maxConcurrent: Math.max(1, maxConcurrent),
      maxQueued: this.maxQueued(maxConcurrent),
      runners: runners.length,
    };
  }

  get isClosing(): boolean {
    return this.closing;
  }

  private maxQueued(maxConcurrent: number): number {
    return this.settings.maxQueued ?? 4 * maxConcurrent;
  }

  /** Throws 503 while this instance cannot answer: shutting down, Redis out of reach or silent. */
  assertServing(): void {
    if (this.closing) throw runErrors.shuttingDown();
    this.connections.assertReachable();
    if (!this.monitor.fresh) {
      throw new HttpError("unavailable", "Redis has not answered for a while; try again shortly.", {
        retryAfter: 2,
      });
    }
  }

  /** Throws 503 when no run can be taken now: shutting down, no Redis, no runner, a full queue. */
  private admit(): void {
    this.assertServing();
    const { running, queued, maxConcurrent, maxQueued, runners } = this.capacity;
    if (runners === 0) {
      throw new HttpError(
        "unavailable",
        "No runner is connected to take runs (start one: mecha-server --redis <url> --role runner); try again shortly.",
        { retryAfter: 2 },
      );
    }
    if (running >= maxConcurrent && queued >= maxQueued) {
      throw new HttpError(
        "busy",
        `All ${maxConcurrent} run slots of ${runners} runner(s) are busy and ${queued} runs are waiting; try again shortly.`,
        { retryAfter: 1 },
      );
    }
  }

  /**
   * Admits a run: onto the queue of runs, or, for a run in a session (`job.sessionId`), into
   * the inbox of the runner holding the session (one at a time per session, decided in Redis).
   */
  async submit(job: RunJob, options: SubmitOptions = {}) {
    const session = job.sessionId;
    if (session === undefined) this.admit();
    else this.assertServing();
    const { command, keys, opts } = this.connections;
    // Subscribed to the run's channel before its job exists (so its start is seen), in
    // parallel with recording it.
    const watch = watchRun(this.connections, job.id, job.limits);
    const keyed = options.idempotencyKey !== undefined;
    const idempotency = keyed
      ? keys.idempotency(
          createHash("sha256")
            .update(`${owner(options.principal)}\0${options.idempotencyKey}`)
            .digest("hex"),
        )
      : keys.run(job.id);
    const ttlMs = opts.queueTimeoutMs + this.settings.maxRunMs + 10 * 60_000;
    let reply: [string, string?];
    try {
      [, reply] = await Promise.all([
        watch.ready,
        command.run(
          "submit",
          [keys.run(job.id), idempotency, session ? keys.session(session) : keys.run(job.id)],
          [
            job.id,
            owner(options.principal),
            job.interactive ? 1 : 0,
            options.fingerprint ?? "",
            ttlMs,
            ttlMs + this.settings.retainMs,
            opts.queueTimeoutMs,
            JSON.stringify(job.limits),
            keys.prefix,
            keyed ? 1 : 0,
            session ?? "",
            session ? JSON.stringify({ op: "run", session, run: job.id, data: jobData(job) }) : "",
          ],
        ) as Promise<[string, string?]>,
      ]);
    } catch (cause) {
      watch.stop();
      // Recorded but not subscribed: drop it (nothing was queued).
      await this.expire(job.id).catch(() => {});
      throw unreachable(cause);
    }
    if (reply[0] !== "new") {
      watch.stop();
      if (reply[0] === "mismatch") throw runErrors.keyReused(options.idempotencyKey!);
      if (reply[0] === "nosession") throw sessionErrors.notFound(session!);
      if (reply[0] === "busy") throw sessionErrors.busy(session!, reply[1]!);
      if (reply[0] === "lost") throw sessionErrors.lost(session!, reply[1] as LostReason);
      const run = await this.get(reply[1]!, options.principal);
      await this.untilTaken(run.id, job.limits);
      return { run, existing: true };
    }
    watch.begin();
    // A session's run is in its runner's inbox already; it waits for no run slot.
    const queued = session === undefined;
    if (queued) this.waiting++;
    let taken: boolean;
    try {
      if (queued) await this.context.queue.add(job);
      // Nothing is sent until a runner takes it, so a run nobody takes can still be refused.
      taken = await within(watch.claimed, opts.queueTimeoutMs);
    } catch (cause) {
      watch.stop();
      await this.expire(job.id).catch(() => {});
      throw unreachable(cause);
    } finally {
      if (queued) this.waiting--;
    }
    if (!taken) {
      await this.expire(job.id, session).catch((cause) => {
        watch.stop();
        throw unreachable(cause);
      });
    }
    const ended = watch.done.then((result) => this.observer.finished?.(result));
    this.accepted.add(ended);
    void ended.finally(() => this.accepted.delete(ended));
    const run = new RemoteRun(job.id, job.limits, this.context, watch, session);
    return { run, existing: false };
  }

  /**
   * A repeated Idempotency-Key whose run still waits for a runner waits as the first request
   * does: 503 `busy` when none takes it in time (nothing ran: safe to send again), never a run
   * said to be `lost`.
   */
  private async untilTaken(id: string, limits: Limits): Promise<void> {
    const { command, keys, opts } = this.connections;
    const [state, session] = await command.redis
      .hmget(keys.run(id), "state", "session")
      .catch((cause) => {
        throw unreachable(cause);
      });
    if (state !== "queued") return;
    const watch = watchRun(this.connections, id, limits);
    try {
      await watch.ready.catch((cause) => {
        throw unreachable(cause);
      });
      watch.begin(true);
      await within(watch.claimed, opts.queueTimeoutMs);
      // Not seen to start: dropped by the request that queued it, or now by this one.
      if (!watch.started) {
        await this.expire(id, session ?? undefined).catch((cause) => {
          throw unreachable(cause);
        });
      }
    } finally {
      watch.stop();
    }
  }

  /** Drops a run no runner took in time (503 busy), unless one took it meanwhile. */
  private async expire(id: string, session?: string): Promise<void> {
    const { command, keys, opts } = this.connections;
    const state = await command.run("expire", [keys.run(id), keys.events(id), keys.stdin(id)], []);
    if (state !== "expired" && state !== "gone") return;
    this.context.queue.remove(id);
    this.logger.warn("mecha: run refused, no runner took it in time", {
      run: id,
      queueTimeoutMs: opts.queueTimeoutMs,
    });
    const who = session ? `The runner holding session ${session} did not take` : "No runner took";
    throw new HttpError(
      "busy",
      `${who} the run within ${opts.queueTimeoutMs / 1000} s; nothing ran. Try again shortly.`,
      { retryAfter: Math.max(1, Math.ceil(opts.queueTimeoutMs / 4000)) },
    );
  }

  async get(id: string, principal?: string): Promise<RemoteRun> {
    this.connections.assertReachable();
    const { command, keys } = this.connections;
    const [state, kept, limits, session] = await command.redis
      .hmget(keys.run(id), "state", "principal", "limits", "session")
      .catch((cause) => {
        throw unreachable(cause);
      });
    if (state === null || kept !== owner(principal)) throw runErrors.notFound(id);
    const own = limits ? (JSON.parse(limits) as Limits) : undefined;
    return new RemoteRun(id, own, this.context, undefined, session ?? undefined);
  }

  /** Takes no new runs and waits for the ones this instance accepted (each ends by its timeout). */
  async close(): Promise<void> {
    this.closing = true;
    const bound = this.connections.opts.queueTimeoutMs + this.settings.maxRunMs + 5000;
    await Promise.race([Promise.all(this.accepted), sleep(bound)]);
  }
}
