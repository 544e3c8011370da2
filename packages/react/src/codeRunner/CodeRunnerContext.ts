import { createContext, useContext } from "react";
import { MechaReactError } from "../MechaReactError";
import type { SessionRunner } from "../session/createSessionStore";
import type { UseRunResult } from "../useRun";

/** The line an uncaught exception points at, with its message. */
export interface ErrorMark {
  line: number;
  message: string;
}

/** What `CodeRunner.Root` shares with its parts (and `useCodeRunner`). */
export interface CodeRunnerContextValue {
  code: string;
  setCode(code: string): void;
  run: UseRunResult;
  /** Runs the code, or stops the run in progress. */
  toggle(): void;
  errorMark: ErrorMark | null;
  /** The session the code runs in (the root's `session` prop), or null for runs of their own. */
  session: SessionRunner | null;
}

export const CodeRunnerContext = createContext<CodeRunnerContextValue | null>(null);

/**
 * The state of the surrounding `<CodeRunner.Root>`: its code, its run (from `useRun`) and
 * `toggle()`. For custom parts.
 */
export function useCodeRunner(): CodeRunnerContextValue {
  const value = useContext(CodeRunnerContext);
  if (!value) {
    throw new MechaReactError(
      "invalid_props",
      "useCodeRunner must be used within <CodeRunner.Root> (or <CodeRunner>).",
    );
  }
  return value;
}

/** The surrounding root's state for a part; `part` names it in the error without one. */
export function useCodeRunnerPart(part: string): CodeRunnerContextValue {
  const value = useContext(CodeRunnerContext);
  if (!value) {
    throw new MechaReactError("invalid_props", `<${part}> must be used within <CodeRunner.Root>.`);
  }
  return value;
}
