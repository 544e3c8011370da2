import { HttpError } from "../httpError";
import type { Run } from "../runs/run";
import type { RunManager, SubmitOptions } from "../runs/runManager";
import type { Limits, RunJob, Runtime, RuntimeSession, SessionFile } from "../runtime/types";
import { sessionErrors } from "./sessionErrors";
import type { SessionDescription, SessionRegistry, SessionRequest } from "./sessionRegistry";

export type { SessionRequest };

export interface SessionLimits {
  /** Sessions open at once (0: sessions are off). */
  maxSessions: number;
  /** The idle time after which a session ends: the default and the most a client may ask. */
  idleTimeoutMs: number;
}

/** One session as the handler keeps it. */
interface OpenSession {
  id: string;
  principal: string | undefined;
  /** Its interpreter; null while it is being started. */
  runtime: RuntimeSession;
  limits: Limits;
  idleTimeoutMs: number;
  expiresAt: number;
  timer: NodeJS.Timeout | null;
  /** Its run in progress (queued or running). */
  busy: Run | null;
  /** Its interpreter has ended without being asked to (out of memory, killed). */
  lost: boolean;
  closing: boolean;
}

/** A new session's id: unguessable, the capability when there is no principal. */
export const newSessionId = () => `ses_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;

/**
 * The sessions a handler answers for: opening (within `maxSessions`), lookup by id (404 for
 * another principal's), one run at a time each (409 `session_busy`), 410 `session_lost` once
 * its interpreter has died, and idle expiry. A session's runs are runs like any other (the run
 * manager admits them, they count in `running`), started in the session's interpreter.
 */
export class SessionManager implements SessionRegistry {
  private readonly sessions = new Map<string, OpenSession>();
  /** Sessions being opened, counted against the maximum. */
  private opening = 0;
  private closed = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly runs: RunManager,
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sessions are on: the runtime has them and the maximum is above 0. */
  get enabled(): boolean {
    return this.limits.maxSessions > 0 && typeof this.runtime.openSession === "function";
  }

  get capacity(): { sessions: number; maxSessions: number } {
    let open = 0;
    for (const session of this.sessions.values()) if (!session.lost) open++;
    return { sessions: open, maxSessions: this.enabled ? this.limits.maxSessions : 0 };
  }

  /** Opens a session (its interpreter started, its files written) or throws 503 `busy`. */
  async open(
    request: SessionRequest,
    principal: string | undefined,
  ): Promise<{ id: string; expiresAt: string }> {
    if (!this.enabled || !this.runtime.openSession) {
      throw sessionErrors.off("Sessions are off on this server.");
    }
    if (this.closed) throw new HttpError("unavailable", "The server is shutting down.");
    if (this.capacity.sessions + this.opening >= this.limits.maxSessions) {
      throw sessionErrors.full(
        `All ${this.limits.maxSessions} sessions are open; close one or try again once one expires.`,
      );
    }
    const id = newSessionId();
    const idleTimeoutMs = Math.min(
      request.idleTimeoutMs ?? this.limits.idleTimeoutMs,
      this.limits.idleTimeoutMs,
    );
    this.opening++;
    let runtime: RuntimeSession;
    try {
      runtime = await this.runtime.openSession({
        id,
        files: request.files,
        limits: request.limits,
      });
    } catch (cause) {
      throw new HttpError(
        "unavailable",
        `The session could not start: ${(cause as Error).message ?? String(cause)}`,
      );
    } finally {
      this.opening--;
    }
    const session: OpenSession = {
      id,
      principal,
      runtime,
      limits: request.limits,
      idleTimeoutMs,
      expiresAt: 0,
      timer: null,
      busy: null,
      lost: false,
      closing: false,
    };
    this.sessions.set(id, session);
    void runtime.ended.then(() => {
      if (!session.closing) session.lost = true;
    });
    if (this.closed) await this.end(session);
    else this.idle(session);
    return { id, expiresAt: new Date(session.expiresAt).toISOString() };
  }

  /** A session by id, if it is `principal`'s; else 404 (never whose it is). */
  private find(id: string, principal: string | undefined): OpenSession {
    const session = this.sessions.get(id);
    if (!session || session.principal !== principal) throw sessionErrors.notFound(id);
    return session;
  }

  /** 410 `session_lost` when the session's interpreter has died. */
  private alive(session: OpenSession): void {
    if (session.lost || session.runtime.lost) {
      session.lost = true;
      throw sessionErrors.lost(session.id);
    }
  }

  /** The limits a run in `id` gets: its own time and output limits, the session's memory. */
  limitsOf(id: string, principal: string | undefined): Limits {
    return this.find(id, principal).limits;
  }

  /**
   * Admits a run in session `id` (409 `session_busy` while another is queued or running); it
   * starts in the session's interpreter when a run slot is free.
   */
  submit(
    id: string,
    principal: string | undefined,
    job: RunJob,
    options: SubmitOptions,
  ): { run: Run; existing: boolean } {
    const session = this.find(id, principal);
    const repeated = this.runs.repeated(options);
    if (repeated) return { run: repeated, existing: true };
    if (session.busy) throw sessionErrors.busy(session.id, session.busy.id);
    this.alive(session);
    const submitted = this.runs.submitTo(
      { ...job, sessionId: id },
      (queued, sink) => session.runtime.start(queued, sink),
      options,
    );
    const { run } = submitted;
    session.busy = run;
    this.stopTimer(session);
    void run.done.then((result) => {
      session.busy = null;
      if (result.session?.state === "lost") session.lost = true;
      this.idle(session);
    });
    return submitted;
  }

  /** A regular file in the session's working directory. */
  async readFile(id: string, principal: string | undefined, path: string): Promise<SessionFile> {
    const session = this.find(id, principal);
    this.alive(session);
    this.touch(session);
    return session.runtime.readFile(path);
  }

  /** `GET /sessions/{id}`: where it is. */
  describe(id: string, principal: string | undefined): SessionDescription {
    const session = this.find(id, principal);
    const state =
      session.lost || session.runtime.lost
        ? "lost"
        : session.busy
          ? session.busy.state === "queued"
            ? "queued"
            : "running"
          : "idle";
    return {
      id,
      state,
      ...(session.busy ? { runId: session.busy.id } : {}),
      expiresAt: new Date(
        session.busy ? this.now() + session.idleTimeoutMs : session.expiresAt,
      ).toISOString(),
      limits: { ...session.limits },
    };
  }

  /** Ends a session (its run in progress too) and forgets it. */
  async close(id: string, principal: string | undefined): Promise<void> {
    await this.end(this.find(id, principal));
  }

  /** Ends every session (the handler is closing). */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions.values()].map((session) => this.end(session)));
  }

  private async end(session: OpenSession): Promise<void> {
    this.stopTimer(session);
    session.closing = true;
    this.sessions.delete(session.id);
    if (session.busy) {
      // A run still waiting for a slot never starts: its result says the session went.
      session.busy.job.sessionEnded = true;
      session.busy.cancel();
    }
    await session.runtime.close();
  }

  /** Activity: an idle session's expiry moves on. */
  private touch(session: OpenSession): void {
    if (!session.busy) this.idle(session);
  }

  /** The session waits for its next run: it ends if none comes within its idle timeout. */
  private idle(session: OpenSession): void {
    this.stopTimer(session);
    if (session.closing) return;
    session.expiresAt = this.now() + session.idleTimeoutMs;
    session.timer = setTimeout(() => void this.end(session), session.idleTimeoutMs);
    session.timer.unref?.();
  }

  private stopTimer(session: OpenSession): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = null;
  }
}
