import type { RunResult } from "@mecha/protocol";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { rateLimit } from "../http/access";
import type { HandlerContext } from "../http/context";
import { checkCodeSize, toJob } from "../http/toJob";
import { HttpError } from "../httpError";
import type { RunHandle } from "../runs/runRegistry";
import type { SessionRegistry } from "../sessions/sessionRegistry";
import { toolError, toToolResult } from "./toolResult";

/**
 * Calls of one MCP session that may wait for its own session's earlier calls; more are refused
 * (an error result), so that no client can queue work, and the code it carries, without bound.
 */
export const MAX_WAITING_CALLS = 8;

/** What one `run_python` call brings besides its arguments. */
export interface CallScope {
  /** Aborted when the client cancels the call or goes away: the run is cancelled. */
  signals: AbortSignal[];
  /** The HTTP request that carried the call (for the `rateLimit` key), when known. */
  request?: Request;
}

/**
 * Runs the `run_python` calls of one MCP session: by default in a Mecha session of its own,
 * opened on the first call and closed with the MCP session, so an agent's calls share state;
 * with `sessionId`, in an existing session of the same principal; with sessions off, each call
 * as a single run. Calls in its own session wait for each other (an agent may send several at
 * once), and a session that has gone (expired, or its interpreter died) is replaced on the next
 * call, which says so.
 */
export class McpRunner {
  /** Its own Mecha session, once a call has opened it. */
  private own: Promise<string> | null = null;
  /** The last call in its own session: the next waits for it. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private calls = 0;
  /** Calls in its own session, the one running included. */
  private queued = 0;

  constructor(
    private readonly context: HandlerContext,
    private readonly principal: string | undefined,
  ) {}

  /** A call is in progress. */
  get busy(): boolean {
    return this.calls > 0;
  }

  /** One call: its result, or an error result saying what went wrong (never a throw). */
  async call(
    code: string,
    sessionId: string | undefined,
    scope: CallScope,
  ): Promise<CallToolResult> {
    this.calls++;
    try {
      const { opts, limiter } = this.context;
      if (scope.request) await rateLimit(scope.request, opts, limiter);
      // Before it waits for anything: a call that cannot run holds nothing.
      checkCodeSize(this.context, code);
      if (sessionId !== undefined)
        return toToolResult(await this.inSession(sessionId, code, scope));
      const sessions = this.context.sessions;
      if (!sessions?.enabled) return toToolResult(await this.single(code, scope));
      if (this.queued > MAX_WAITING_CALLS) {
        return toolError(
          `${MAX_WAITING_CALLS} calls of this MCP session are already waiting for its session (they run one after another); send this one again once some have answered.`,
        );
      }
      this.queued++;
      const turn = this.tail.then(() =>
        // Cancelled while it waited: it never runs.
        scope.signals.some((signal) => signal.aborted)
          ? toolError("The call was cancelled before it ran.")
          : this.inOwn(sessions, code, scope),
      );
      this.tail = turn.catch(() => {});
      try {
        return await turn;
      } finally {
        this.queued--;
      }
    } catch (error) {
      if (error instanceof HttpError) return toolError(error.detail);
      this.context.opts.logger.error("Mecha: an MCP tool call failed", error);
      return toolError("The server failed to run the code; see its log.");
    } finally {
      this.calls--;
    }
  }

  /** Ends its own session, if it opened one. */
  async close(): Promise<void> {
    this.closed = true;
    await this.forget();
  }

  private async single(code: string, scope: CallScope): Promise<RunResult> {
    const job = toJob(this.context, { code }, false);
    const { run } = await this.context.runs.submit(job, { principal: this.principal });
    return this.finish(run, scope);
  }

  private async inSession(id: string, code: string, scope: CallScope): Promise<RunResult> {
    const sessions = this.context.sessions;
    if (!sessions?.enabled) {
      throw new HttpError(
        "not_found",
        `Sessions are off on this server, so there is no session ${id}; leave sessionId out to run the code on its own.`,
      );
    }
    const job = toJob(this.context, { code }, false, await sessions.limitsOf(id, this.principal));
    const { run } = await sessions.submit(id, this.principal, job, { principal: this.principal });
    return this.finish(run, scope);
  }

  private async inOwn(
    sessions: SessionRegistry,
    code: string,
    scope: CallScope,
  ): Promise<CallToolResult> {
    let note: string | undefined;
    let result: RunResult;
    try {
      result = await this.inSession(await this.ownSession(sessions), code, scope);
    } catch (error) {
      const gone = error instanceof HttpError ? error.code : null;
      if (gone !== "not_found" && gone !== "session_lost") throw error;
      await this.forget();
      note =
        gone === "not_found"
          ? `[The session of the earlier calls expired after ${Math.round(this.context.opts.sessionIdleTimeoutMs / 1000)} s unused, and its state with it; this ran in a new session.]`
          : "[The session of the earlier calls had ended (its interpreter was killed, or the runner holding it went away), and its state with it; this ran in a new session.]";
      result = await this.inSession(await this.ownSession(sessions), code, scope);
    }
    if (result.session?.state === "lost") await this.forget();
    return toToolResult(result, note);
  }

  private ownSession(sessions: SessionRegistry): Promise<string> {
    if (this.closed) throw new HttpError("not_found", "This MCP session has ended.");
    this.own ??= sessions
      .open({ files: [], limits: this.context.opts.defaultLimits }, this.principal)
      .then(({ id }) => id);
    const opening = this.own;
    return opening.catch((error: unknown) => {
      if (this.own === opening) this.own = null;
      throw error;
    });
  }

  /** Closes its own session (if it is still open) and opens a new one on the next call. */
  private async forget(): Promise<void> {
    const opening = this.own;
    this.own = null;
    const id = await opening?.catch(() => null);
    if (id) await this.context.sessions?.close(id, this.principal).catch(() => {});
  }

  /** Waits for a run's result, cancelling it when the call is cancelled. */
  private async finish(run: RunHandle, { signals }: CallScope): Promise<RunResult> {
    const cancel = () => void Promise.resolve(run.cancel()).catch(() => {});
    for (const signal of signals) {
      if (signal.aborted) cancel();
      else signal.addEventListener("abort", cancel, { once: true });
    }
    try {
      return await run.done;
    } finally {
      for (const signal of signals) signal.removeEventListener("abort", cancel);
    }
  }
}
