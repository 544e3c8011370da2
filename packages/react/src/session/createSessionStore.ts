import { isMechaError, type RunOptions, type StartOptions } from "@mecha/client";
import type { Session, SessionRunFields } from "@mecha/client/session";
import type { RunHandle, RunOutcome } from "../internal/clientTypes";
import { MechaReactError } from "../MechaReactError";
import { lazyRunHandle } from "./lazyRunHandle";

/**
 * Where a session is: not opened yet (`idle`, it opens with the first run), `opening`, `ready`,
 * `lost` (its interpreter died or it expired, and its state with it), `closed`, or `error` (it
 * could not be opened; the next run tries again).
 */
export type SessionStatus = "idle" | "opening" | "ready" | "lost" | "closed" | "error";

export interface SessionSnapshot {
  /** The open session, or null while there is none. */
  readonly session: Session | null;
  readonly status: SessionStatus;
  /** Why the session is `lost`, or why it could not be opened (`error`). */
  readonly error: Error | null;
}

/**
 * What runs code in a session: a `Session` from `@mecha/client/session`, or `useSession()`'s
 * value. `<CodeRunner session>` and `useRun({ session })` take one.
 */
export interface SessionRunner {
  start(code: string, options?: StartOptions & SessionRunFields): RunHandle;
}

/** A session opened when first needed, followed until it is lost or closed. Framework-free. */
export interface SessionStore extends SessionRunner {
  getSnapshot(): SessionSnapshot;
  subscribe(listener: () => void): () => void;
  /** The open session, opening it if there is none yet (or the last try failed). */
  open(): Promise<Session>;
  run(code: string, options?: RunOptions & SessionRunFields): Promise<RunOutcome>;
  /** Closes the session (if any) and opens a new one, with none of the old one's state. */
  restart(): Promise<void>;
  /** Closes the session; a later `open` or run needs `restart` (or `reset`) first. */
  close(): Promise<void>;
  /** Closes any session and goes back to `idle`: the next run opens a new one. */
  reset(): void;
}

const IDLE: SessionSnapshot = { session: null, status: "idle", error: null };

/** A run's outcome or failure that means the session's state is gone. */
function lostBy(outcome: RunOutcome | null, error: unknown): Error | null {
  if (outcome?.session?.state === "lost") {
    return new MechaReactError(
      "session_lost",
      `The session was lost when its run ended (${outcome.status}), and its variables with it. Restart the session to run code again.`,
    );
  }
  if (isMechaError(error, "session_lost") || isMechaError(error, "not_found")) {
    return error as Error;
  }
  return null;
}

class Store implements SessionStore {
  private snapshot: SessionSnapshot = IDLE;
  private listeners = new Set<() => void>();
  /** Changes whenever the session in hand is given up, so late answers about it are ignored. */
  private generation = 0;
  private opening: { promise: Promise<Session>; controller: AbortController } | null = null;

  constructor(private readonly openSession: (signal: AbortSignal) => Promise<Session>) {}

  getSnapshot = (): SessionSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  open(): Promise<Session> {
    const { status, session, error } = this.snapshot;
    if (status === "ready" && session) return Promise.resolve(session);
    if (status === "lost") {
      return Promise.reject(
        new MechaReactError(
          "session_lost",
          `The session was lost, and its variables with it: restart it to run code again. (${error?.message ?? "lost"})`,
          { cause: error },
        ),
      );
    }
    if (status === "closed") {
      return Promise.reject(
        new MechaReactError("session_closed", "The session is closed: restart it to run code."),
      );
    }
    if (this.opening) return this.opening.promise;
    const generation = this.generation;
    const controller = new AbortController();
    const promise = this.openSession(controller.signal).then(
      (opened) => {
        if (generation !== this.generation) {
          // Given up while it opened: nobody will use it.
          opened.close().catch(() => {});
          throw new MechaReactError("session_closed", "The session was closed while it opened.");
        }
        this.opening = null;
        this.set({ session: opened, status: "ready", error: null });
        return opened;
      },
      (cause: unknown) => {
        const failure = cause instanceof Error ? cause : new Error(String(cause));
        if (generation === this.generation) {
          this.opening = null;
          this.set({ session: null, status: "error", error: failure });
        }
        throw failure;
      },
    );
    this.opening = { promise, controller };
    this.set({ session: null, status: "opening", error: null });
    return promise;
  }

  start(code: string, options: StartOptions & SessionRunFields = {}): RunHandle {
    const { status, session } = this.snapshot;
    if (status === "ready" && session) return this.watch(session.start(code, options));
    return lazyRunHandle(
      this.open(),
      (opened) => this.watch(opened.start(code, options)),
      options.signal,
    );
  }

  async run(code: string, options: RunOptions & SessionRunFields = {}): Promise<RunOutcome> {
    const session = await this.open();
    const generation = this.generation;
    try {
      const outcome = await session.run(code, options);
      this.observe(generation, outcome, null);
      return outcome;
    } catch (error) {
      this.observe(generation, null, error);
      throw error;
    }
  }

  async restart(): Promise<void> {
    const old = this.giveUp();
    this.set(IDLE);
    // The old session's slot is freed first: a server at its session maximum answers busy.
    await old?.close().catch(() => {});
    await this.open().catch(() => {});
  }

  async close(): Promise<void> {
    const old = this.giveUp();
    this.set({ session: null, status: "closed", error: null });
    await old?.close().catch(() => {});
  }

  reset(): void {
    this.giveUp()
      ?.close()
      .catch(() => {});
    this.set(IDLE);
  }

  /** Forgets the session in hand (and one opening), returning it for closing. */
  private giveUp(): Session | null {
    this.generation++;
    this.opening?.controller.abort();
    this.opening = null;
    return this.snapshot.session;
  }

  private watch(handle: RunHandle): RunHandle {
    const generation = this.generation;
    handle.result.then(
      (outcome) => this.observe(generation, outcome, null),
      (error: unknown) => this.observe(generation, null, error),
    );
    return handle;
  }

  private observe(generation: number, outcome: RunOutcome | null, error: unknown): void {
    if (generation !== this.generation || this.snapshot.status !== "ready") return;
    const lost = lostBy(outcome, error);
    if (lost) this.set({ session: this.snapshot.session, status: "lost", error: lost });
  }

  private set(snapshot: SessionSnapshot): void {
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener();
  }
}

/**
 * Creates a session store over `open`, which opens a session (e.g. `createSession(client)`);
 * React apps use `useSession`.
 */
export function createSessionStore(open: (signal: AbortSignal) => Promise<Session>): SessionStore {
  return new Store(open);
}
