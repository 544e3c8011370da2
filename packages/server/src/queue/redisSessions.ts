import type { SessionCreated } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { runErrors } from "../runs/runErrors";
import type { SubmitOptions } from "../runs/runRegistry";
import { type Limits, type RunJob, type SessionFile, SessionFileError } from "../runtime/types";
import { type LostReason, sessionErrors } from "../sessions/sessionErrors";
import { newSessionId, type SessionLimits } from "../sessions/sessionManager";
import type {
  SessionCapacity,
  SessionDescription,
  SessionRegistry,
  SessionRequest,
} from "../sessions/sessionRegistry";
import { askRunner } from "./askRunner";
import type { ClusterMonitor, RunnerInfo } from "./clusterMonitor";
import type { RedisConnections } from "./redisConnections";
import { owner, type RedisRuns } from "./redisRuns";
import { unreachable } from "./remoteRun";

/** How long a runner may take to start a session's interpreter (it allows itself 30 s). */
const OPEN_MS = 45_000;
/** How long a runner may take to read a session's file (it allows its interpreter 10 s). */
const READ_MS = 15_000;
/** How long a runner may take to end a session's interpreter before DELETE answers anyway. */
const CLOSE_MS = 10_000;

/** A session as Redis holds it. */
interface HeldSession {
  state: string;
  runner: string;
  limits: Limits;
  idleMs: number;
  expiresAt: number;
  runId: string;
  runState: string;
  now: number;
  reason: LostReason;
}

/** The least busy runners first: among runners with as much room, a session goes there. */
const byLoad = (a: RunnerInfo, b: RunnerInfo) =>
  a.running / a.maxConcurrent - b.running / b.maxConcurrent;

/**
 * The sessions of a deployment on Redis, as an API instance answers for them. A session lives
 * on one runner: `open` reserves a place on the live runner with the most room (within its
 * maximum, atomically in Redis) and asks it to start the interpreter; the session's runs go to
 * that runner's inbox (`RedisRuns.submit`, one at a time decided in Redis), its files and its
 * end are asked of that runner (`askRunner`); anything else is read from Redis, so any instance
 * answers for any session. The runner keeps its expiry; when it goes away, the session is lost.
 */
export class RedisSessions implements SessionRegistry {
  private closing = false;

  constructor(
    private readonly connections: RedisConnections,
    private readonly monitor: ClusterMonitor,
    private readonly runs: RedisRuns,
    private readonly limits: SessionLimits,
  ) {}

  /** On unless this instance's `maxSessions` is 0; how many there may be is the runners' say. */
  get enabled(): boolean {
    return this.limits.maxSessions > 0;
  }

  get capacity(): SessionCapacity {
    let sessions = 0;
    let maxSessions = 0;
    for (const runner of this.monitor.available) {
      sessions += runner.sessions ?? 0;
      maxSessions += runner.maxSessions ?? 0;
    }
    return { sessions, maxSessions: this.enabled ? maxSessions : 0 };
  }

  async open(request: SessionRequest, principal: string | undefined): Promise<SessionCreated> {
    if (!this.enabled) throw sessionErrors.off();
    if (this.closing) throw runErrors.shuttingDown();
    this.runs.assertServing();
    const runners = this.monitor.available;
    if (runners.length === 0) {
      throw new HttpError(
        "unavailable",
        "No runner is connected to hold a session (start one: mecha-server --redis <url> --role runner); try again shortly.",
        { retryAfter: 2 },
      );
    }
    const holders = runners.filter((runner) => (runner.maxSessions ?? 0) > 0).sort(byLoad);
    if (holders.length === 0) {
      throw sessionErrors.off(
        "Sessions are off on every runner of this deployment (their maxSessions is 0).",
      );
    }
    const id = newSessionId();
    const idleTimeoutMs = Math.min(
      request.idleTimeoutMs ?? this.limits.idleTimeoutMs,
      this.limits.idleTimeoutMs,
    );
    const runner = await this.reserve(id, holders, principal, request.limits, idleTimeoutMs);
    let answer: Record<string, unknown>;
    try {
      answer = await askRunner(
        this.connections,
        runner,
        { op: "open", session: id, files: request.files, limits: request.limits, idleTimeoutMs },
        {
          timeoutMs: OPEN_MS,
          late: `The runner chosen for the session did not start it within ${OPEN_MS / 1000} s; try again shortly.`,
          check: async () => {
            const state = await this.stateOf(id);
            if (state !== "opening" && state !== "open") {
              throw new HttpError(
                "unavailable",
                "The runner chosen for the session went away while starting it; try again.",
                { retryAfter: 2 },
              );
            }
          },
        },
      );
    } catch (error) {
      await this.forget(id, runner).catch(() => {});
      throw unreachable(error);
    }
    if (typeof answer.error === "string") {
      await this.forget(id, runner).catch(() => {});
      throw new HttpError("unavailable", `The session could not start: ${answer.error}`);
    }
    return { id, expiresAt: new Date(Number(answer.expiresAt)).toISOString() };
  }

  /**
   * Reserves a place on the one of `holders` with the most room now (counted in Redis, not from
   * the last heartbeats); 503 `busy` when none has any.
   */
  private async reserve(
    id: string,
    holders: RunnerInfo[],
    principal: string | undefined,
    limits: Limits,
    idleTimeoutMs: number,
  ): Promise<string> {
    const { command, keys, opts } = this.connections;
    const runner = await command
      .run(
        "sessionOpen",
        [keys.session(id), keys.runners],
        [
          id,
          owner(principal),
          JSON.stringify(limits),
          idleTimeoutMs,
          OPEN_MS + 10_000,
          opts.lostAfterMs,
          keys.prefix,
          ...holders.flatMap((holder) => [holder.id, holder.maxSessions ?? 0]),
        ],
      )
      .catch((cause) => {
        throw unreachable(cause);
      });
    if (typeof runner === "string" && runner !== "") return runner;
    const most = holders.reduce((sum, holder) => sum + (holder.maxSessions ?? 0), 0);
    throw sessionErrors.full(
      `All ${most} sessions of ${holders.length} runner(s) are open; close one or try again once one expires.`,
    );
  }

  /** A session by id, if it is `principal`'s; else 404 (never whose it is). */
  private async find(id: string, principal: string | undefined): Promise<HeldSession> {
    this.connections.assertReachable();
    const { command, keys } = this.connections;
    const view = (await command
      .run("sessionView", [keys.session(id)], [keys.prefix])
      .catch((cause) => {
        throw unreachable(cause);
      })) as string[];
    const [state, kept, runner, limits, idle, expires, runId, runState, now, reason] = view;
    if (!state || state === "opening" || kept !== owner(principal)) {
      throw sessionErrors.notFound(id);
    }
    return {
      state,
      runner: runner!,
      limits: JSON.parse(limits!) as Limits,
      idleMs: Number(idle),
      expiresAt: Number(expires),
      runId: runId!,
      runState: runState!,
      now: Number(now),
      reason: reason as LostReason,
    };
  }

  private async stateOf(id: string): Promise<string | null> {
    const { command, keys } = this.connections;
    return command.redis.hget(keys.session(id), "state");
  }

  async limitsOf(id: string, principal: string | undefined): Promise<Limits> {
    return (await this.find(id, principal)).limits;
  }

  submit(id: string, _principal: string | undefined, job: RunJob, options: SubmitOptions) {
    // Whose it is, busy or lost: decided in Redis with the run's admission (see submit.lua).
    return this.runs.submit({ ...job, sessionId: id }, options);
  }

  async readFile(id: string, principal: string | undefined, path: string): Promise<SessionFile> {
    const session = await this.find(id, principal);
    if (session.state === "lost") throw sessionErrors.lost(id, session.reason);
    const answer = await askRunner(
      this.connections,
      session.runner,
      { op: "read", session: id, path },
      {
        timeoutMs: READ_MS,
        late: `The runner holding session ${id} did not read the file within ${READ_MS / 1000} s; try again shortly.`,
        check: async () => {
          const { command, keys } = this.connections;
          const [state, reason] = await command.redis.hmget(keys.session(id), "state", "reason");
          if (state === null) throw sessionErrors.notFound(id);
          if (state === "lost") throw sessionErrors.lost(id, reason as LostReason);
        },
      },
    );
    if (typeof answer.error === "string") {
      throw new SessionFileError(
        answer.error as SessionFileError["reason"],
        String(answer.message ?? answer.error),
      );
    }
    return { size: Number(answer.size), content: Buffer.from(String(answer.content), "base64") };
  }

  async describe(id: string, principal: string | undefined): Promise<SessionDescription> {
    const session = await this.find(id, principal);
    const run =
      session.runState === "queued" || session.runState === "running" ? session.runState : null;
    const busy = run !== null;
    return {
      id,
      state: session.state === "lost" ? "lost" : (run ?? "idle"),
      ...(busy ? { runId: session.runId } : {}),
      expiresAt: new Date(busy ? session.now + session.idleMs : session.expiresAt).toISOString(),
      limits: session.limits,
    };
  }

  async close(id: string, principal: string | undefined): Promise<void> {
    const session = await this.find(id, principal);
    if (session.state !== "lost") {
      // Its runner ends the interpreter (and its run in progress); one that does not answer
      // ends it when it reads its inbox, or at its idle expiry.
      await askRunner(
        this.connections,
        session.runner,
        { op: "close", session: id },
        {
          timeoutMs: CLOSE_MS,
          late: "",
          check: async () => {
            if ((await this.stateOf(id)) !== "open") throw new Error("gone");
          },
        },
      ).catch(() => {});
    }
    await this.forget(id, session.runner);
  }

  /** Deletes a session's record and its place on its runner. */
  private async forget(id: string, runner: string): Promise<void> {
    const { command, keys } = this.connections;
    await command.redis
      .multi()
      .del(keys.session(id))
      .srem(keys.runnerSessions(runner), id)
      .exec()
      .catch((cause) => {
        throw unreachable(cause);
      });
  }

  /** Sessions live on runners: closing an API instance only stops it opening new ones. */
  async closeAll(): Promise<void> {
    this.closing = true;
  }
}
