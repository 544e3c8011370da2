import type { RunFile, SessionCreated } from "@mecha/protocol";
import type { MaybePromise, RunHandle, SubmitOptions } from "../runs/runRegistry";
import type { Limits, RunJob, SessionFile } from "../runtime/types";

/** What a new session asks for, validated. */
export interface SessionRequest {
  files: RunFile[];
  limits: Limits;
  idleTimeoutMs?: number;
}

/** `GET /sessions/{id}`: where a session is. */
export interface SessionDescription {
  id: string;
  /** `queued`: its run waits for a run slot; `running`: its run has one. */
  state: "idle" | "queued" | "running" | "lost";
  /** Its run in progress (queued or running). */
  runId?: string;
  expiresAt: string;
  limits: Limits;
}

/** Open sessions and the most there may be, as `/health` reports them. */
export interface SessionCapacity {
  sessions: number;
  maxSessions: number;
}

/**
 * The sessions a handler answers for, wherever their interpreters live: in this process
 * (`SessionManager`) or on runners over Redis (`RedisSessions`). Lookups by id are 404 for
 * another principal's session; methods may answer at once or as a promise.
 */
export interface SessionRegistry {
  /** Sessions are on (the runtime has them, the maximum is above 0). */
  readonly enabled: boolean;
  readonly capacity: SessionCapacity;
  /** Opens a session (its interpreter started, its files written) or throws 503 `busy`. */
  open(request: SessionRequest, principal: string | undefined): Promise<SessionCreated>;
  /** The limits a run in session `id` gets unless it asks for others. */
  limitsOf(id: string, principal: string | undefined): MaybePromise<Limits>;
  /**
   * Admits a run in session `id`: 409 `session_busy` while another is queued or running, 410
   * `session_lost` once its interpreter has gone; with a repeated `Idempotency-Key`, that run.
   */
  submit(
    id: string,
    principal: string | undefined,
    job: RunJob,
    options: SubmitOptions,
  ): MaybePromise<{ run: RunHandle; existing: boolean }>;
  /** A regular file in the session's working directory (`SessionFileError` saying why not). */
  readFile(id: string, principal: string | undefined, path: string): Promise<SessionFile>;
  describe(id: string, principal: string | undefined): MaybePromise<SessionDescription>;
  /** Ends a session (its run in progress too) and forgets it. */
  close(id: string, principal: string | undefined): Promise<void>;
  /** The handler is closing: no more sessions (and those held here end). */
  closeAll(): Promise<void>;
}
