"use client";

import type { RunOptions, StartOptions } from "@mecha/client";
import {
  createSession,
  type Session,
  type SessionOptions,
  type SessionRunFields,
} from "@mecha/client/session";
import { useMutation } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { MechaClient, RunHandle, RunOutcome } from "./internal/clientTypes";
import { QUERY_KEY_ROOT } from "./internal/healthQuery";
import { useMechaContext } from "./internal/MechaContext";
import {
  createSessionStore,
  type SessionRunner,
  type SessionSnapshot,
  type SessionStore,
} from "./session/createSessionStore";

export interface UseSessionOptions extends Omit<SessionOptions, "signal"> {
  /**
   * Open the session when the component mounts, not with its first run.
   * @default false
   */
  eager?: boolean;
  /**
   * How a session is opened: by default `createSession` of `@mecha/client/session`. For a
   * session of your own (a wrapper, a test double).
   * @default createSession
   */
  createSession?: (client: MechaClient, options: SessionOptions) => Promise<Session>;
}

export interface UseSessionResult extends SessionSnapshot, SessionRunner {
  /**
   * Runs code in the session (opening it first if needed) to its end; rejects when it cannot
   * run, e.g. with a `MechaReactError` `session_lost` once the session is lost.
   * @example const { displays } = await session.run("df.describe()");
   */
  run(code: string, options?: RunOptions & SessionRunFields): Promise<RunOutcome>;
  /**
   * Starts an interactive run in the session (opening it first if needed), like
   * `client.start()`. `<CodeRunner session>` runs its code through this.
   */
  start(code: string, options?: StartOptions & SessionRunFields): RunHandle;
  /** Opens the session now, if it is not open yet; never rejects (`status` and `error` say). */
  open(): Promise<void>;
  /**
   * Starts afresh: closes the session (if any) and opens a new one, without the old state. The
   * way out of `lost`, `closed` and `error`. Never rejects (`status` and `error` say).
   */
  restart(): Promise<void>;
  /** Closes the session (`DELETE` on the server); a later run needs `restart()`. */
  close(): Promise<void>;
}

/**
 * A session of the provider's client: an interpreter whose runs share variables, imports and
 * files, as notebook cells do. It opens with the first run (or on mount with `eager`), closes
 * when the component unmounts, and turns `lost` when a run's result says the session is gone
 * (`session.state: "lost"`, a `session_lost` or `not_found` answer): `restart()` starts afresh.
 * Opening is a TanStack Query mutation keyed `["mecha", "session", …]`.
 * @example
 * const session = useSession();
 * <CodeRunner session={session} defaultCode="x = 41" />
 * <CodeRunner session={session} defaultCode="x + 1" />
 */
export function useSession(options: UseSessionOptions = {}): UseSessionResult {
  const { client, clientKey, queryClient } = useMechaContext("useSession");
  const latest = useRef(options);
  latest.current = options;

  const { mutateAsync } = useMutation(
    {
      mutationKey: [QUERY_KEY_ROOT, "session", clientKey],
      mutationFn: (signal: AbortSignal) => {
        const { eager: _eager, createSession: open = createSession, ...fields } = latest.current;
        return open(client, { ...fields, signal });
      },
      retry: false,
      // The in-browser fallback opens sessions with no network at all.
      networkMode: "always",
      throwOnError: false,
    },
    queryClient,
  );
  const open = useRef(mutateAsync);
  open.current = mutateAsync;
  const [store] = useState<SessionStore>(() =>
    createSessionStore((signal) => open.current(signal)),
  );
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);

  // Closed on unmount, and when the provider's client changes; open again (React may remount).
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new client needs a new session
  useEffect(() => {
    if (store.getSnapshot().status !== "idle") store.reset();
    if (latest.current.eager) store.open().catch(() => {});
    return () => void store.close();
  }, [store, client]);

  const start = useCallback(
    (code: string, startOptions?: StartOptions & SessionRunFields) =>
      store.start(code, startOptions),
    [store],
  );
  const run = useCallback(
    (code: string, runOptions?: RunOptions & SessionRunFields) => store.run(code, runOptions),
    [store],
  );
  const openNow = useCallback(
    () =>
      store.open().then(
        () => {},
        () => {},
      ),
    [store],
  );
  const restart = useCallback(() => store.restart(), [store]);
  const close = useCallback(() => store.close(), [store]);

  return { ...snapshot, start, run, open: openNow, restart, close };
}
