import type { Capacity, RunResult } from "@mecha/protocol";
import { HttpError } from "../httpError";
import type { NormalizedOptions } from "../options";
import type { RequestLimiter } from "../rateLimiter";
import type { RunRegistry } from "../runs/runRegistry";
import type { Runtime } from "../runtime/types";
import type { SessionRegistry } from "../sessions/sessionRegistry";
import { ClusterMonitor, type RunnerInfo } from "./clusterMonitor";
import { clusterRuntime, runnerRuntime } from "./clusterRuntime";
import type { NormalizedQueueOptions } from "./queueOptions";
import { RedisConnections } from "./redisConnections";
import { RedisRuns } from "./redisRuns";
import { RedisSessions } from "./redisSessions";
import { Runner } from "./runner";
import { RunQueue } from "./runQueue";
import { SharedRateLimiter } from "./sharedRateLimiter";

/** A handler's parts when its runs are distributed over Redis. */
export interface Cluster {
  /** The registry the routes use (a runner's answers 404: it takes no requests). */
  runs: RunRegistry;
  /** The sessions the routes use; null on a runner alone (it takes no requests). */
  sessions: SessionRegistry | null;
  /** What `/health` and `/runtimes` report. */
  runtime: Runtime;
  limiter: RequestLimiter | null;
  /** The live runners, as last seen. */
  runners(): readonly RunnerInfo[];
  /** Connects and joins (a runner starts taking runs); rejects saying why it cannot. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Where the runs a process answers for end, to count them (metrics). */
export type Finished = (result: RunResult) => void;

const NOT_HERE = () =>
  new HttpError(
    "not_found",
    "This mecha-server is a runner (--role runner): it serves /health and /metrics only; send runs to an API instance.",
  );

/**
 * Builds an API instance, a runner, or both in one, on one pair of Redis connections. Nothing
 * connects until `start()`. An API instance counts the runs it accepted by final status; a
 * runner alone counts what it executed.
 */
export function createCluster(
  queue: NormalizedQueueOptions,
  opts: NormalizedOptions,
  settings: { maxQueued: number | undefined; runtime: () => Runtime; finished: Finished },
): Cluster {
  const { role } = queue;
  const connections = new RedisConnections(queue, opts.logger, `mecha:${role}:${process.pid}`);
  const bull = role === "runner" ? null : new RunQueue(connections);
  const monitor = new ClusterMonitor(
    connections,
    opts.logger,
    opts.retainMs,
    bull ? () => bull.waiting() : undefined,
  );
  const local = role === "api" ? null : settings.runtime();
  const runner = local
    ? new Runner(
        connections,
        local,
        {
          maxConcurrent: opts.maxConcurrent,
          retainMs: opts.retainMs,
          maxSessions: opts.maxSessions,
          sessionIdleTimeoutMs: opts.sessionIdleTimeoutMs,
          maxLimits: opts.maxLimits,
        },
        opts.logger,
        role === "runner" ? { finished: settings.finished } : {},
      )
    : null;
  const api = bull
    ? new RedisRuns(
        connections,
        monitor,
        bull,
        {
          maxQueued: settings.maxQueued,
          maxStdinBuffer: opts.maxStdinBuffer,
          retainMs: opts.retainMs,
          retainBytes: opts.retainBytes,
          maxRunMs: opts.maxLimits.timeoutMs,
        },
        opts.logger,
        { finished: settings.finished },
      )
    : null;
  let closing = false;
  const runnerOnly: RunRegistry = {
    get capacity(): Capacity {
      return {
        running: runner!.running,
        queued: 0,
        maxConcurrent: runner!.maxConcurrent,
        maxQueued: 0,
        runners: monitor.available.length,
        sessions: runner!.sessions.open,
        maxSessions: runner!.sessions.max,
      };
    },
    get isClosing() {
      return closing;
    },
    submit: () => {
      throw NOT_HERE();
    },
    get: () => {
      throw NOT_HERE();
    },
    close: async () => {},
  };

  const sessions = api
    ? new RedisSessions(connections, monitor, api, {
        maxSessions: opts.maxSessions,
        idleTimeoutMs: opts.sessionIdleTimeoutMs,
      })
    : null;

  let starting: Promise<void> | null = null;
  return {
    runs: api ?? runnerOnly,
    sessions,
    runtime: api ? clusterRuntime(connections, monitor) : runnerRuntime(local!, connections),
    limiter: opts.rateLimit
      ? new SharedRateLimiter(
          connections.command.redis,
          queue.prefix,
          opts.rateLimit.limit,
          opts.rateLimit.windowMs,
        )
      : null,
    runners: () => monitor.runners,
    start() {
      // A start that failed (Redis out of reach) is tried again by the next call.
      starting ??= (async () => {
        await connections.open();
        bull?.open();
        monitor.start();
        await runner?.start();
        await monitor.refresh();
      })().catch((error: unknown) => {
        starting = null;
        throw error;
      });
      return starting;
    },
    async close() {
      closing = true;
      await api?.close();
      await runner?.close();
      monitor.stop();
      await bull?.close();
      await connections.close();
      await local?.close();
    },
  };
}
