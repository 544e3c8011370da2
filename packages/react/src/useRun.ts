"use client";

import {
  createRunStore,
  isActiveRunState,
  type RunSnapshot,
  type RunStore,
  type TerminalBuffer,
} from "@mecha/client/run-store";
import type { RunEvent, RunRequest } from "@mecha/protocol";
import { useMutation } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { describeOutputLimit } from "./codeRunner/format";
import type { MechaClient, RunOutcome } from "./internal/clientTypes";
import { QUERY_KEY_ROOT } from "./internal/healthQuery";
import { useMechaContext } from "./internal/MechaContext";
import type { SessionRunner } from "./session/createSessionStore";

/** What to run: the code alone, or a request (language defaults to Python). */
export type RunInput = string | (Partial<RunRequest> & { code: string });

export interface UseRunOptions {
  /** Fields merged into every request, e.g. `{ limits: { timeoutMs: 5000 } }` or `files`. */
  request?: Partial<RunRequest>;
  /**
   * Run in this session (`useSession()`'s value, or a `Session` from `@mecha/client/session`)
   * instead of on its own: variables, imports and files carry over from the session's earlier
   * runs. A session run takes `stdin`, `files`, `limits` and `returnFiles`; `args` and
   * `language` are the session's.
   * @default undefined
   */
  session?: SessionRunner | null;
  /** Called for every event of a run's stream. */
  onEvent?: (event: RunEvent) => void;
  /**
   * Called when a run ends, whatever its status (a failing program is still a result). Not
   * called for a run replaced by a newer one, nor after the component unmounted.
   */
  onResult?: (outcome: RunOutcome) => void;
  /** Called when no backend could run the code (same conditions as `onResult`). */
  onError?: (error: Error) => void;
  /**
   * Empty the transcript when a run starts.
   * @default true
   */
  clearOnStart?: boolean;
  /**
   * Caps the transcript: once it holds a tenth more lines than this, the oldest are dropped down
   * to `maxLines`. Read on mount.
   * @default Infinity
   */
  maxLines?: number;
}

export interface UseRunResult extends RunSnapshot {
  /** True while the run is `queued` or `running`. */
  isRunning: boolean;
  /**
   * The run's transcript: output as it streams, echoed input, and a note where output was cut at
   * the output limit ("✂ Output cut here: output limit of 1 MiB reached"). Feed it to
   * `<Terminal run>`.
   */
  output: TerminalBuffer;
  /**
   * Starts a run (stopping any current one). Resolves with the outcome, or null when no backend
   * could run the code (then `state` is `error` and `error` says why); never rejects.
   */
  start(input: RunInput): Promise<RunOutcome | null>;
  /** Asks the backend to stop the run; it ends as `cancelled`. */
  stop(): Promise<void>;
  /**
   * Answers a pending `input()` (the text is echoed into the transcript). If it cannot be sent,
   * the transcript says why, the prompt comes back, and the promise rejects.
   */
  sendInput(text: string): Promise<void>;
  /** Closes the program's stdin, like Ctrl+D (fails like `sendInput`). */
  sendEof(): Promise<void>;
  /** Stops any run, empties the transcript and returns to `idle`. */
  reset(): void;
  /** Empties the transcript only. */
  clear(): void;
}

function toRequest(input: RunInput, defaults: Partial<RunRequest> | undefined): RunRequest {
  const given = typeof input === "string" ? { code: input } : input;
  const request = {
    ...defaults,
    ...given,
    language: given.language ?? defaults?.language ?? "python",
  } as RunRequest;
  if (defaults?.limits || given.limits) request.limits = { ...defaults?.limits, ...given.limits };
  return request;
}

/** Starts a run's request in a session, with the fields a session run takes. */
function inSession(session: SessionRunner): Pick<MechaClient, "start"> {
  return {
    start: ({ code, stdin, files, limits, returnFiles }, options) =>
      session.start(code, {
        ...options,
        ...(stdin !== undefined ? { stdin } : {}),
        ...(files ? { files } : {}),
        ...(limits ? { limits } : {}),
        ...(returnFiles ? { returnFiles } : {}),
      }),
  };
}

/**
 * Runs code with the provider's client and follows the run: its state (`idle`, `queued`,
 * `running`, then how it ended), its streamed output, and `input()` prompts.
 * Runs are TanStack Query mutations keyed `["mecha", "run", …]`, so `useIsMutating` sees them.
 * @example
 * const run = useRun({ request: { limits: { timeoutMs: 5000 } } });
 * <button onClick={() => run.start('print("hi")')} aria-busy={run.isRunning}>Run</button>
 * <Terminal run={run} />
 */
export function useRun(options: UseRunOptions = {}): UseRunResult {
  const context = useMechaContext("useRun");
  const { client, clientKey, queryClient, lastRun } = context;
  const [store] = useState<RunStore>(() =>
    createRunStore({ clearOnStart: options.clearOnStart, maxLines: options.maxLines }),
  );
  const latest = useRef(options);
  latest.current = options;
  // The store calls these only for the run it follows, so a run that a newer one replaced,
  // or that outlived this component, reports nothing.
  store.setOptions({
    clearOnStart: options.clearOnStart,
    onEvent: (event) => latest.current.onEvent?.(event),
    onResult: (outcome) => {
      // Mark where the output stops, so a cut transcript never reads as the program's end.
      if (outcome.status === "output_exceeded" || outcome.truncated) {
        store.output.write("info", `\u2702 Output cut here: ${describeOutputLimit(outcome)}\n`);
      }
      lastRun.set(outcome.backend);
      latest.current.onResult?.(outcome);
    },
    onError: (error) => latest.current.onError?.(error),
  });

  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);

  const mutation = useMutation(
    {
      mutationKey: [QUERY_KEY_ROOT, "run", clientKey],
      mutationFn: (req: RunRequest) => {
        const { session } = latest.current;
        return store.execute(session ? inSession(session) : client, req);
      },
      retry: false,
      // Fallback backends run code with no network at all.
      networkMode: "always",
      // `state: "error"` reports it; a host's default must not send it to an error boundary.
      throwOnError: false,
    },
    queryClient,
  );
  const { mutateAsync } = mutation;

  // A run must not outlive the component that follows it.
  useEffect(() => () => store.reset(), [store]);

  const start = useCallback(
    (input: RunInput) =>
      mutateAsync(toRequest(input, latest.current.request)).then(
        (outcome) => outcome,
        () => null,
      ),
    [mutateAsync],
  );
  const stop = useCallback(() => store.stop(), [store]);
  const sendInput = useCallback((text: string) => store.sendInput(text), [store]);
  const sendEof = useCallback(() => store.sendEof(), [store]);
  const reset = useCallback(() => store.reset(), [store]);
  const clear = useCallback(() => store.output.clear(), [store]);

  return {
    ...snapshot,
    isRunning: isActiveRunState(snapshot.state),
    output: store.output,
    start,
    stop,
    sendInput,
    sendEof,
    reset,
    clear,
  };
}
