import type { RunFile, RunResult } from "@mecha/protocol";
import { cancelledBeforeStart } from "../runs/results";
import {
  type Limits,
  type Logger,
  type RunJob,
  type RunningProgram,
  type RunSink,
  type Runtime,
  type RuntimeSession,
  SessionFileError,
} from "../runtime/types";
import type { LostReason } from "../sessions/sessionErrors";
import { answer, type InboxRequest, type RunnerAnswer } from "./askRunner";
import { heldTo } from "./heldTo";
import { readJobData } from "./jobData";
import type { RedisConnections } from "./redisConnections";

/** How a run taken by a runner starts: its program, or the result it ends with unrun. */
export type Starter = (job: RunJob, sink: RunSink) => RunningProgram | RunResult;

/** What a runner's sessions need of the runner. */
export interface SessionHost {
  readonly runnerId: string;
  /** Claims a run and executes it with `start`; null when it was not this runner's to run. */
  take(job: RunJob, start: Starter): Promise<RunResult | null>;
  /** Fails a run whose job this runner cannot read, saying why. */
  refuse(id: string, reason: string): Promise<void>;
  /** Cancels a run executing here. */
  cancel(id: string): void;
  /** Work the runner waits for before it leaves (a drain). */
  track(work: Promise<void>): void;
}

export interface RunnerSessionSettings {
  /** Sessions held at once (0: none). */
  maxSessions: number;
  /** The longest a session may wait for its next run. */
  idleTimeoutMs: number;
  /** How long a session's record outlives its expiry, in case its runner vanishes first. */
  graceMs: number;
  /** The most a session here is given (its interpreter's memory, as its runs' limits). */
  maxLimits: Limits;
}

/** A session held here. */
interface Held {
  id: string;
  runtime: RuntimeSession;
  idleTimeoutMs: number;
  timer: NodeJS.Timeout | null;
  /** Runs taken for it that have not ended. */
  runs: Set<string>;
  lost: boolean;
  closing: boolean;
}

type Mark = "ready" | "idle" | "lost" | "expire" | "end";
type Request = InboxRequest & { reply?: string };

/**
 * The sessions a runner holds: their interpreters, opened, run in, read and closed as API
 * instances ask through the runner's inbox (see askRunner), each run in one claimed and reported
 * as any run is. The runner keeps each session's idle expiry and tells Redis what becomes of it
 * (`session.lua`), so its record says whether it is open, lost, or gone.
 */
export class RunnerSessions {
  private readonly held = new Map<string, Held>();
  private opening = 0;
  private draining = false;
  private reading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly connections: RedisConnections,
    private readonly runtime: Runtime,
    private readonly settings: RunnerSessionSettings,
    private readonly logger: Logger,
    private readonly host: SessionHost,
  ) {}

  get enabled(): boolean {
    return this.settings.maxSessions > 0 && typeof this.runtime.openSession === "function";
  }

  /** The most sessions held at once, as the runner reports it. */
  get max(): number {
    return this.enabled ? this.settings.maxSessions : 0;
  }

  /** Sessions held (or being opened) whose interpreter is up. */
  get open(): number {
    let open = this.opening;
    for (const held of this.held.values()) if (!held.lost) open++;
    return open;
  }

  /** Reads the inbox (told on the runner's channel, or seen at a heartbeat) until it is empty. */
  drain(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        this.drain();
      }
    });
  }

  private async read(): Promise<void> {
    const { command, keys } = this.connections;
    for (;;) {
      const items = await command.redis
        .lpop(keys.runnerInbox(this.host.runnerId), 64)
        .catch(() => null);
      if (!items || items.length === 0) return;
      for (const item of items) this.dispatch(item);
    }
  }

  private dispatch(item: string): void {
    let request: Request;
    try {
      request = JSON.parse(item) as Request;
    } catch {
      this.logger.warn("mecha: a session request this runner cannot read", { item });
      return;
    }
    const work = this.handle(request).catch((error: unknown) => {
      this.logger.error("mecha: a session request failed", {
        session: request.session,
        op: request.op,
        error,
      });
      return this.answer(request, { error: "unavailable", message: String(error) });
    });
    this.host.track(work);
  }

  private async handle(request: Request): Promise<void> {
    switch (request.op) {
      case "open":
        return this.openOne(request);
      case "run":
        return this.runOne(request);
      case "read":
        return this.readOne(request);
      case "close":
        return this.closeOne(request);
      default:
        return this.answer(request, {
          error: `this runner does not know ${JSON.stringify((request as { op?: unknown }).op)}: the API instance and the runner run different versions of mecha-server`,
        });
    }
  }

  private async answer(request: Request, body: RunnerAnswer): Promise<void> {
    if (request.reply) await answer(this.connections, request.reply, body).catch(() => {});
  }

  /** Tells Redis what became of session `id` (see session.lua). */
  private async mark(
    id: string,
    what: Mark,
    idleMs = 0,
    reason: LostReason | "" = "",
  ): Promise<[number, number?]> {
    const { command, keys } = this.connections;
    const { runnerId } = this.host;
    return (await command.run(
      "session",
      [keys.session(id), keys.runnerSessions(runnerId)],
      [runnerId, id, what, idleMs, idleMs + this.settings.graceMs, reason, keys.prefix],
    )) as [number, number?];
  }

  private async openOne(request: Extract<Request, { op: "open" }>): Promise<void> {
    const { session: id } = request;
    if (!this.enabled || this.draining) {
      await this.mark(id, "end").catch(() => {});
      const why = this.draining ? "its runner is shutting down" : "its runner holds no sessions";
      return this.answer(request, { error: why });
    }
    let runtime: RuntimeSession;
    this.opening++;
    try {
      runtime = await this.runtime.openSession!({
        id,
        files: request.files as RunFile[],
        limits: heldTo(request.limits as Limits, this.settings.maxLimits),
      });
    } catch (error) {
      await this.mark(id, "end").catch(() => {});
      return this.answer(request, { error: (error as Error).message ?? String(error) });
    } finally {
      this.opening--;
    }
    const held: Held = {
      id,
      runtime,
      idleTimeoutMs: Math.min(request.idleTimeoutMs, this.settings.idleTimeoutMs),
      timer: null,
      runs: new Set(),
      lost: false,
      closing: false,
    };
    this.held.set(id, held);
    void runtime.ended.then(() => {
      if (!held.closing) void this.lose(held, "interpreter");
    });
    const [ready, expiresAt] = this.draining
      ? [0]
      : await this.mark(id, "ready", held.idleTimeoutMs).catch(() => [0]);
    if (ready !== 1) {
      // Given up (its request timed out, or this runner is leaving): nobody will use it.
      await this.end(held, true);
      return this.answer(request, { error: "it was given up before its interpreter was ready" });
    }
    this.arm(held);
    return this.answer(request, { expiresAt });
  }

  private async runOne(request: Extract<Request, { op: "run" }>): Promise<void> {
    const read = readJobData(request.data);
    if ("error" in read) return this.host.refuse(request.run, read.error);
    const { job } = read;
    const held = this.held.get(request.session);
    // Ended meanwhile (DELETE, expiry): its run never starts, and says the session went.
    const unrun = (queued: RunJob) => cancelledBeforeStart({ ...queued, sessionEnded: true });
    if (!held) {
      await this.host.take(job, unrun);
      return;
    }
    held.runs.add(job.id);
    this.disarm(held);
    let result: RunResult | null;
    try {
      result = await this.host.take(job, (queued, sink) =>
        held.closing ? unrun(queued) : held.runtime.start(queued, sink),
      );
    } finally {
      held.runs.delete(job.id);
    }
    if (held.closing) return;
    if (result?.session?.state === "lost") await this.lose(held, "interpreter");
    if (held.runs.size === 0) await this.rest(held);
  }

  private async readOne(request: Extract<Request, { op: "read" }>): Promise<void> {
    const held = this.held.get(request.session);
    if (!held || held.closing || held.lost) {
      return this.answer(request, { error: "unavailable", message: "the session has ended" });
    }
    if (held.runs.size === 0) await this.rest(held);
    try {
      const file = await held.runtime.readFile(request.path);
      return this.answer(request, { size: file.size, content: file.content.toString("base64") });
    } catch (error) {
      if (!(error instanceof SessionFileError)) throw error;
      return this.answer(request, { error: error.reason, message: error.message });
    }
  }

  private async closeOne(request: Extract<Request, { op: "close" }>): Promise<void> {
    const held = this.held.get(request.session);
    if (held) await this.end(held, true);
    else await this.mark(request.session, "end").catch(() => {});
    return this.answer(request, { ok: true });
  }

  /** Its interpreter has ended: its next run is 410 until it expires; its place is free. */
  private async lose(held: Held, reason: LostReason): Promise<void> {
    if (held.lost || held.closing) return;
    held.lost = true;
    await this.mark(held.id, "lost", held.idleTimeoutMs, reason).catch(() => {});
  }

  /** It waits for its next run: it expires unless one comes within its idle timeout. */
  private async rest(held: Held): Promise<void> {
    this.arm(held);
    if (held.lost) return;
    const [mine] = await this.mark(held.id, "idle", held.idleTimeoutMs).catch(() => [1]);
    // Deleted, or declared lost while this runner was out of reach: nobody can use it.
    if (mine === 0) await this.end(held, false);
  }

  private arm(held: Held): void {
    this.disarm(held);
    if (held.closing) return;
    held.timer = setTimeout(() => void this.expire(held), held.idleTimeoutMs);
    held.timer.unref?.();
  }

  private disarm(held: Held): void {
    if (held.timer) clearTimeout(held.timer);
    held.timer = null;
  }

  private async expire(held: Held): Promise<void> {
    if (held.closing || held.runs.size > 0) return;
    const [verdict] = await this.mark(held.id, "expire").catch(() => [1]);
    // A run was sent to it just now: it comes through the inbox, and moves the expiry on.
    if (verdict === 2) this.arm(held);
    else await this.end(held, false);
  }

  /** Ends a session here: its runs cancelled, its interpreter ended; `forget`: its record too. */
  private async end(held: Held, forget: boolean): Promise<void> {
    this.disarm(held);
    held.closing = true;
    this.held.delete(held.id);
    for (const run of held.runs) this.host.cancel(run);
    await held.runtime.close();
    if (forget) await this.mark(held.id, "end").catch(() => {});
  }

  /**
   * After this runner was out of reach (declared gone, or Redis restarted): the sessions Redis
   * no longer counts as open here end, as nobody can reach them.
   */
  async verify(): Promise<void> {
    const { command, keys } = this.connections;
    for (const held of [...this.held.values()]) {
      if (held.closing) continue;
      const [runner, state] = await command.redis
        .hmget(keys.session(held.id), "runner", "state")
        .catch(() => [this.host.runnerId, "open"]);
      if (runner !== this.host.runnerId || state === "lost") await this.end(held, false);
    }
  }

  /** The runner drains: no new sessions, and those held are lost (their next run is 410). */
  async retire(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.held.values()].map((held) => this.lose(held, "drained")));
  }

  /** Ends every session held here (their records say they were lost). */
  async closeAll(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.held.values()].map((held) => this.end(held, false)));
  }
}
