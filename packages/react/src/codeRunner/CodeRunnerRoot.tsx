"use client";

import type { RunLimits, RunRequest } from "@mecha/protocol";
import {
  forwardRef,
  type HTMLAttributes,
  type KeyboardEvent,
  useCallback,
  useMemo,
  useRef,
  useState,
} from "react";
import type { RunOutcome } from "../internal/clientTypes";
import { composeEventHandlers, cx, isModEnter } from "../internal/dom";
import type { SessionRunner } from "../session/createSessionStore";
import { useRun } from "../useRun";
import {
  CodeRunnerContext,
  type CodeRunnerContextValue,
  type ErrorMark,
} from "./CodeRunnerContext";

export interface CodeRunnerRootProps extends Omit<HTMLAttributes<HTMLDivElement>, "onError"> {
  /** The code, controlled. Pair with `onCodeChange`. */
  code?: string;
  /** The initial code, uncontrolled. */
  defaultCode?: string;
  /** Called with the new code after every edit. */
  onCodeChange?: (code: string) => void;
  /** Limits for each run (clamped by the server), e.g. `{ timeoutMs: 5000, memoryMb: 128 }`. */
  limits?: RunLimits;
  /** Other request fields for each run: `stdin`, `files`, `args`. */
  request?: Omit<Partial<RunRequest>, "code" | "limits">;
  /** Called when a run ends, whatever its status (a failing program is still a result). */
  onResult?: (outcome: RunOutcome) => void;
  /** Called when no backend could run the code. */
  onError?: (error: Error) => void;
  /**
   * Run the code in this session (`useSession()`'s value, or a `Session` from
   * `@mecha/client/session`), so that CodeRunners sharing it build on each other like notebook
   * cells: a variable one defines, the next one can use. A final expression's value shows in
   * the output.
   * @example
   * const session = useSession();
   * <CodeRunner session={session} defaultCode="import math" />
   * <CodeRunner session={session} defaultCode="math.pi" />
   */
  session?: SessionRunner | null;
}

/**
 * Holds the code and its run for the parts. Renders a `<div role="group">` named "Code runner"
 * (override with `aria-label`); Ctrl/Cmd+Enter anywhere inside runs or stops.
 */
export const CodeRunnerRoot = forwardRef<HTMLDivElement, CodeRunnerRootProps>(
  function CodeRunnerRoot(
    {
      code: controlledCode,
      defaultCode = "",
      onCodeChange,
      limits,
      request,
      onResult,
      onError,
      session,
      className,
      onKeyDown,
      children,
      "aria-label": ariaLabel = "Code runner",
      ...rest
    },
    ref,
  ) {
    const [uncontrolledCode, setUncontrolledCode] = useState(defaultCode);
    const code = controlledCode ?? uncontrolledCode;
    const codeRef = useRef(code);
    codeRef.current = code;
    const run = useRun({
      request: { ...request, ...(limits ? { limits } : {}) },
      session,
      onResult,
      ...(onError ? { onError } : {}),
    });

    const setCode = useCallback(
      (next: string) => {
        codeRef.current = next;
        if (controlledCode === undefined) setUncontrolledCode(next);
        onCodeChange?.(next);
      },
      [controlledCode, onCodeChange],
    );

    const { isRunning, start, stop } = run;
    const toggle = useCallback(() => {
      if (isRunning) void stop();
      else void start(codeRef.current);
    }, [isRunning, start, stop]);

    const failure = run.result?.error;
    const errorMark = useMemo<ErrorMark | null>(
      () =>
        failure?.line
          ? { line: failure.line, message: `${failure.type}: ${failure.message}` }
          : null,
      [failure],
    );

    const value = useMemo<CodeRunnerContextValue>(
      () => ({ code, setCode, run, toggle, errorMark, session: session ?? null }),
      [code, setCode, run, toggle, errorMark, session],
    );

    return (
      <CodeRunnerContext.Provider value={value}>
        {/* biome-ignore lint/a11y/useSemanticElements: a <fieldset> would frame a terminal as a form */}
        <div
          ref={ref}
          className={cx("mecha-codeRunner", className)}
          data-mecha-scope=""
          role="group"
          aria-label={ariaLabel}
          onKeyDown={composeEventHandlers(onKeyDown, (event: KeyboardEvent<HTMLDivElement>) => {
            if (isModEnter(event)) {
              event.preventDefault();
              toggle();
            }
          })}
          {...rest}
          data-state={run.state}
        >
          {children}
        </div>
      </CodeRunnerContext.Provider>
    );
  },
);
