import type { ClientRunResult } from "../src/backend";
import type { MechaClient, RunHandle } from "../src/createClient";
import type { Session, SessionOptions, SessionRunFields } from "../src/session/createSession";

/** A session double whose runs go through a (fake) client's `start`, so its script plays them. */
export interface FakeSession extends Session {
  /** The options it was opened with. */
  readonly options: SessionOptions;
  /** The code of every run, in order. */
  readonly codes: string[];
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

/** Opens fake sessions, as `createSession` of `@mecha/client/session` would open real ones. */
export interface FakeSessions {
  /** Opens a session over `client` (hand it to `useSession` as `createSession`). */
  open(client: MechaClient, options?: SessionOptions): Promise<FakeSession>;
  /** Every session opened, oldest first. */
  readonly opened: FakeSession[];
  /** Makes the next openings reject with this error. */
  failWith: Error | null;
  /** Holds each opening until this settles. */
  gate: Promise<void> | null;
}

const withSession = (id: string, result: ClientRunResult): ClientRunResult => ({
  session: { id, state: "kept" },
  ...result,
});

/**
 * Fake sessions: each run starts on the client with the session's fields, and its result says
 * `session: { id, state: "kept" }` unless the script's result says otherwise.
 */
export function createFakeSessions(): FakeSessions {
  let count = 0;
  const sessions: FakeSessions = {
    opened: [],
    failWith: null,
    gate: null,
    async open(client, options = {}) {
      if (sessions.gate) await sessions.gate;
      if (sessions.failWith) throw sessions.failWith;
      const id = `session-${++count}`;
      const codes: string[] = [];
      let closed = false;
      const start = (code: string, given: SessionRunFields & { signal?: AbortSignal } = {}) => {
        const { signal, ...fields } = given;
        codes.push(code);
        const handle = client.start(
          { language: "python", ...fields, code },
          signal ? { signal } : {},
        );
        const result = handle.result.then((outcome) => withSession(id, outcome));
        result.catch(() => {});
        return Object.assign(Object.create(handle) as RunHandle, { result });
      };
      const session: FakeSession = {
        id,
        backend: "server",
        expiresAt: null,
        options,
        codes,
        get closed() {
          return closed;
        },
        start,
        async run(code, runOptions = {}) {
          const { onEvent, ...rest } = runOptions;
          const handle = start(code, rest);
          if (onEvent) for await (const event of handle.events) onEvent(event);
          return handle.result;
        },
        files: {
          get: async (path) => {
            throw new Error(`The fake session keeps no files; asked for ${path}.`);
          },
        },
        close: async () => {
          closed = true;
        },
      };
      sessions.opened.push(session);
      return session;
    },
  };
  return sessions;
}
